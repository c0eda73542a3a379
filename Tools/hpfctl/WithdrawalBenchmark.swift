import ArgumentParser
import AsyncHTTPClient
import Contracts
import Foundation
import Logging
import Policy

/// Withdrawals per second end to end, request to paid: HTTP in (withdrawal service) ->
/// `withdrawal-requested` -> the ledger debits -> `debit-posted` -> payout instruction -> the
/// payment channel (simulated in this process, confirming at once) -> paid. The clock runs from
/// the first request to the last confirmation that found its withdrawal paid.
struct WithdrawalBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-withdrawals",
        abstract: "End-to-end withdrawals per second, request to paid (make bench's stack by default).",
        discussion: "HTTP in (withdrawal), the ledger's debit, the payout instruction, the payment channel simulated in this "
            + "process; prints `withdrawals/s: N`. Enrols and funds --accounts people first. Refuses make run's ports (8081-8086).")

    @Option(help: "Accounts to enrol, fund and withdraw from.")
    var accounts: Int = 100

    @Option(help: "Withdrawals to send.")
    var withdrawals: Int = 2_000

    @Option(help: "Concurrent HTTP clients.")
    var concurrency: Int = 16

    @Option(name: .customLong("url"), help: "The withdrawal service.")
    var withdrawalURL: String = Stack.benchURL("withdrawal")

    @Option(name: .customLong("enrolment-url"), help: "The enrolment service.")
    var enrolmentURL: String = Stack.benchURL("enrolment")

    @Option(name: .customLong("ledger-url"), help: "The contribution service (the ledger).")
    var ledgerURL: String = Stack.benchURL("contribution")

    func validate() throws {
        try Checks.atLeast(1, accounts, "--accounts")
        try Checks.atLeast(1, withdrawals, "--withdrawals")
        try Checks.within(1...1_024, concurrency, "--concurrency")
        try Stack.refuseRunStack(withdrawalURL, option: "--url")
        try Stack.refuseRunStack(enrolmentURL, option: "--enrolment-url")
        try Stack.refuseRunStack(ledgerURL, option: "--ledger-url")
    }

    func run() async throws {
        let accounts = self.accounts
        let withdrawals = self.withdrawals
        let concurrency = self.concurrency
        let enrolmentURL = self.enrolmentURL
        let ledgerURL = self.ledgerURL
        let withdrawalURL = self.withdrawalURL
        let amount: Fen = 10_000
        var logger = Logger(label: "hpfctl.bench")
        logger.logLevel = .error
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))

        print("bench: enrolling \(accounts) accounts and funding each for its withdrawals")
        let numbers = try await BenchSupport.enrol(accounts, http: http, enrolmentURL: enrolmentURL)
        let perAccount = Fen((withdrawals + accounts - 1) / accounts)
        let runID = UUID().uuidString.prefix(8)
        for number in numbers {
            try await Self.waitFor("\(ledgerURL)/v1/accounts/\(number)/balance", http)
            try await Self.waitFor("\(withdrawalURL)/v1/accounts/\(number)/withdrawals", http)
            let deposit =
                #"{"accountNumber":"\#(number)","amountFen":\#(perAccount * amount),"channel":"alipay","channelTxnId":"wbench-\#(runID)-\#(number)","paidAt":"\#(Instant.format(Date()))"}"#
            let (status, json) = try await DepositBenchmark.post(http, "\(ledgerURL)/v1/contributions", deposit, as: .channel("alipay"))
            guard status == 201 else { throw CommandError("deposit refused (\(status)): \(json)") }
        }

        let channel = PaymentChannelSimulator(
            withdrawalURL: withdrawalURL,
            failSuffix: nil, http: http, logger: logger)
        let ids = IDs()
        ids.expect(withdrawals)
        let channelTask = Task { try await channel.run(fromLatest: true) { ids.allPaid(in: channel) } }
        try await Task.sleep(for: .seconds(6))  // let the channel's consumer join before the clock starts

        print("bench: \(withdrawals) withdrawals of \(amount) fen, \(concurrency) concurrent clients")
        let counter = DepositBenchmark.Counter()
        let targets = numbers
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while let index = await counter.next(limit: withdrawals) {
                        let body =
                            #"{"accountNumber":"\#(targets[index % targets.count])","reason":"repayment","amountFen":\#(amount),"payee":{"kind":"lender","name":"连云港农商银行","bankAccount":"6230000000000001"},"evidence":{"loanType":"commercial","loanContractNumber":"BENCH-\#(index)","outstandingFen":100000000,"payeeBankAccount":"6230000000000001"}}"#
                        let began = ContinuousClock.now
                        let (status, json) = try await DepositBenchmark.post(http, "\(withdrawalURL)/v1/withdrawals", body)
                        guard status == 202, let id = json["withdrawalId"] as? String else { throw CommandError("withdrawal refused (\(status)): \(json)") }
                        ids.add(id, at: began)
                    }
                }
            }
            try await group.waitForAll()
        }
        let accepted = ContinuousClock.now - start
        try await channelTask.value
        let paid = channel.paidAt
        let last = paid.values.max()!
        let latencies = ids.all.compactMap { id, began in paid[id].map { ($0 - began).milliseconds } }.sorted()
        print(
            String(
                format: "bench: requests accepted in %.2f s; request to paid p50 %.0f ms p99 %.0f ms", accepted.seconds,
                latencies[latencies.count / 2], latencies[Int(Double(latencies.count) * 0.99)]))
        print(String(format: "withdrawals/s: %.0f", Double(withdrawals) / (last - start).seconds))
        try? await http.shutdown()
    }

    static func waitFor(_ url: String, _ http: HTTPClient) async throws {
        for _ in 0..<600 {
            if try await DepositBenchmark.get(http, url).0 == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CommandError("\(url) did not answer 200")
    }

    /// The withdrawals sent, with when each request began.
    final class IDs: @unchecked Sendable {
        private let lock = NSLock()
        private var began: [String: ContinuousClock.Instant] = [:]
        private var expected = Int.max
        func add(_ id: String, at instant: ContinuousClock.Instant) { lock.withLock { began[id] = instant } }
        var all: [String: ContinuousClock.Instant] { lock.withLock { began } }
        func allPaid(in channel: PaymentChannelSimulator) -> Bool {
            let ids = all
            let paid = channel.paidAt
            return ids.count >= expectedCount && ids.keys.allSatisfy { paid[$0] != nil }
        }
        var expectedCount: Int { lock.withLock { expected } }
        func expect(_ count: Int) { lock.withLock { expected = count } }
    }
}
