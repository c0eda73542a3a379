import ArgumentParser

/// hpfctl: the operator's command line for the suite. Each command is a type of its own, in a
/// file of its own; `hpfctl --help` lists them and `hpfctl <command> --help` describes one.
/// Unknown options are refused (exit 64) and `--help` exits 0.
@main
struct HPFCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hpfctl",
        abstract: "The operator's command line for the HPF suite: topics, events, accounts, dead letters, simulators, benchmarks.",
        discussion: """
            Environment:
              HPF_KAFKA_BROKERS     the broker of the Kafka commands [127.0.0.1:9092]
              HPF_TOPIC_PARTITIONS  partitions of each topic `topics` creates [3]
              HPF_PG_PORT           the Postgres that bench-annual, bench-interest and
                                    bench-loans --seed-accounts seed [55432, make run's,
                                    which they refuse; make bench's is 55434]
              HPF_PG_HOST, HPF_PG_DATABASE, HPF_ENV and the other HPF_PG_* settings,
                                    read as the services read them (the same commands)

            Service URLs default to make run's stack: enrolment 8081, contribution 8082,
            subsidy 8083, withdrawal 8084, loan 8085, regional-sync 8086 (127.0.0.1).
            The benchmarks default to make bench's (9081-9086) and refuse make run's.
            Tokens, `call`, the simulators and the benchmarks use the public development
            keys: only a development stack (HPF_ENV=development) accepts them.
            """,
        groupedSubcommands: [
            CommandGroup(
                name: "Events",
                subcommands: [
                    TopicsCommand.self, EventsCommand.self, AccountCommand.self, EventsDumpCommand.self, ReportCommand.self,
                ]),
            CommandGroup(
                name: "Operations",
                subcommands: [
                    DeadLettersCommand.self, RebuildCommand.self, TokenCommand.self, CallCommand.self,
                ]),
            CommandGroup(
                name: "Simulators",
                subcommands: [
                    PaymentChannelCommand.self, ChannelStatementCommand.self, PartnerCityCommand.self,
                ]),
            CommandGroup(
                name: "Benchmark",
                subcommands: [
                    DepositBenchmark.self, AnnualSubsidyBenchmark.self, InterestBenchmark.self, WithdrawalBenchmark.self,
                    LoanBenchmark.self, EventSigningBenchmark.self,
                ]),
        ])
}
