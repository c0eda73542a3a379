import Foundation

/// hpfctl: the operator's command line for the suite (topics, event tailing, benchmarks).
let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: hpfctl <command> [options]
      topics                                   create every topic of the catalogue (idempotent)
      token citizen --id-number N | token staff --staff-id S --role R[,R] [--minutes M]
                                               a development token (HPF_ENV=development stacks only)
      call [--as CREDENTIAL] [--status 1] METHOD URL [BODY]
                                               one request as officer (default), citizen:ID, staff:ID:ROLES,
                                               channel:NAME (signed) or none
      events <topic> [--key K] [--seconds S]   print the events on a topic (from the beginning)
      events-dump --dir DIR [--idle-seconds S] every event the suite published (signature verified with the
                                               development keys), one file per topic (development stacks)
      bench-deposits [--accounts N] [--deposits N] [--concurrency N] [--url URL]
                                               end-to-end deposits per second through the running stack
      bench-annual [--lots N] [--as-of YYYY-MM-DD] the annual subsidy job over N seeded lots (subsidy schema)
      bench-interest [--accounts N] [--as-of YYYY-MM-DD]
                                               the annual interest settlement over N seeded accounts (contribution schema)
      bench-withdrawals [--accounts N] [--withdrawals N] [--concurrency N] [--url URL]
                                               end-to-end withdrawals per second, request to paid
      bench-event-signing [--events N]          signing and verifying N events (Ed25519), µs per event
      bench-loans [--rate R] [--seconds S] [--accounts N] [--seed-accounts N,N] [--saturation R,R,...] [--url URL]
                                               one-thing loan decisions at R requests/s: p50 and p99 latency (with
                                               N participants seeded into the loan read model; the saturation point)
      payment-channel [--url URL] [--fail-suffix DIGITS] [--silent-suffix DIGITS]
                                               play the payment channel: confirm every payout (payees whose
                                               bank account ends with --fail-suffix, default 0000, fail; with
                                               --silent-suffix, default 7777, are paid but never confirmed)
      channel-statement deposits|payouts [--channel C] [--date YYYY-MM-DD] [--lost ACCOUNT:FEN] [--drop REF] [--url URL]
                                               play a channel's end of day: write its signed statement from the
                                               events, import it as a fund officer, print the report (对账)
      partner-city [--cities 320300,321300] [--url URL]
                                               play border-region partner cities (their dev keys): answer our
                                               contact letters, confirm our transfer-out data
      partner-city apply --city CODE --id-number ID [--name NAME] [--account OURS] [--url URL]
                                               a partner city's contact letter: ask us to transfer an account out
    environment: HPF_KAFKA_BROKERS (127.0.0.1:9092), HPF_PG_PORT (55432)
    """

do {
    let options = CommandOptions(arguments.dropFirst())
    switch arguments.first {
    case "topics": try await TopicsCommand.run()
    case "token": try TokenCommand.run(options)
    case "call": try await CallCommand.run(options)
    case "events": try await EventsCommand.run(options)
    case "events-dump": try await EventsDumpCommand.run(options)
    case "bench-deposits": try await DepositBenchmark.run(options)
    case "bench-annual": try await AnnualSubsidyBenchmark.run(options)
    case "bench-interest": try await InterestBenchmark.run(options)
    case "bench-withdrawals": try await WithdrawalBenchmark.run(options)
    case "bench-loans": try await LoanBenchmark.run(options)
    case "bench-event-signing": try EventSigningBenchmark.run(options)
    case "payment-channel": try await PaymentChannelSimulator.run(options)
    case "channel-statement": try await ChannelStatementCommand.run(options)
    case "partner-city": try await PartnerCityCommand.run(options)
    default:
        print(usage)
        exit(arguments.isEmpty ? 0 : 2)
    }
} catch {
    FileHandle.standardError.write(Data("hpfctl: \(String(reflecting: error))\n".utf8))
    exit(1)
}
