import ArgumentParser
import AsyncHTTPClient
import Contracts
import Foundation
import Kafka
import Logging
import NIOCore
import Policy

/// End-to-end deposits per second through the running stack: HTTP in (contribution service),
/// ledger commit, outbox relay to Kafka, consumed and applied by a subscriber (this process
/// keeps a running balance per account from the events and checks it against the ledger).
/// The clock runs from the first request to the moment the subscriber has applied the last event.
struct DepositBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-deposits",
        abstract: "End-to-end deposits per second through a running stack (make bench's by default).",
        discussion: "HTTP in (contribution), ledger commit, outbox relay to Kafka, consumed and applied by a subscriber in "
            + "this process; prints `deposits/s: N`. Enrols --accounts people first. Refuses make run's ports (8081-8086).")

    @Option(help: "Accounts to enrol and deposit into.")
    var accounts: Int = 200

    @Option(help: "Deposits to send.")
    var deposits: Int = 10_000

    @Option(help: "Concurrent HTTP clients.")
    var concurrency: Int = 32

    @Option(name: .customLong("url"), help: "The contribution service (the ledger).")
    var ledgerURL: String = Stack.benchURL("contribution")

    @Option(name: .customLong("enrolment-url"), help: "The enrolment service.")
    var enrolmentURL: String = Stack.benchURL("enrolment")

    @Option(
        name: .customLong("also-url"),
        help: "Another instance of the contribution service (repeatable): the deposits are shared out in turn, as a load balancer would.")
    var otherLedgerURLs: [String] = []

    @Flag(
        name: .customLong("development-key"),
        help: "Sign with the channel's development key (derived, never read from the registry) instead of a key registered and approved for the run.")
    var developmentKey = false

    func validate() throws {
        try Checks.atLeast(1, accounts, "--accounts")
        try Checks.atLeast(1, deposits, "--deposits")
        try Checks.within(1...1_024, concurrency, "--concurrency")
        try Stack.refuseRunStack(ledgerURL, option: "--url")
        try Stack.refuseRunStack(enrolmentURL, option: "--enrolment-url")
        for url in otherLedgerURLs { try Stack.refuseRunStack(url, option: "--also-url") }
    }

    func run() async throws {
        let accounts = self.accounts
        let concurrency = self.concurrency
        let enrolmentURL = self.enrolmentURL
        let ledgerURL = self.ledgerURL
        let amount: Fen = 20_000
        var logger = Logger(label: "hpfctl.bench")
        logger.logLevel = .error
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))

        print("bench: enrolling \(accounts) accounts")
        let numbers = try await BenchSupport.enrol(accounts, http: http, enrolmentURL: enrolmentURL)
        print("bench: waiting for the ledger accounts (account-opened events)")
        let opened = ProgressBar("ledger accounts", unit: "accounts")
        for (index, number) in numbers.enumerated() {
            opened.update(Int64(index), of: Int64(numbers.count))
            var tries = 0
            while try await DepositBenchmark.get(http, "\(ledgerURL)/v1/accounts/\(number)/balance").0 != 200 {
                tries += 1
                if tries > 600 { throw CommandError("ledger account \(number) did not appear") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        opened.finish(Int64(numbers.count), of: Int64(numbers.count))
        // As in production, the channel signs with a key the ledger reads from its registry.
        let registered = developmentKey ? nil : try await ChannelBenchKey.register(channel: "alipay", serviceURL: ledgerURL, http: http)
        let credential: Credential = registered.map { .registeredChannel($0) } ?? .channel("alipay")
        do {
            try await measure(credential: credential, numbers: numbers, amount: amount, http: http, logger: logger)
        } catch {
            await registered?.revokeReporting(serviceURL: ledgerURL, http: http)
            throw error
        }
        await registered?.revokeReporting(serviceURL: ledgerURL, http: http)
        try? await http.shutdown()
    }

    /// The measured part: deposits sent, events awaited, figures printed (`deposits/s` last).
    private func measure(credential: Credential, numbers: [String], amount: Fen, http: HTTPClient, logger: Logger) async throws {
        let deposits = self.deposits
        let concurrency = self.concurrency
        let ledgerURL = self.ledgerURL
        let instances = [ledgerURL] + otherLedgerURLs
        let accountSet = Set(numbers)
        let subscriber = Subscriber(accounts: accountSet, expected: deposits, logger: logger)
        let subscription = Task { try await subscriber.run() }
        try await Task.sleep(for: .seconds(6))  // let the subscriber join its group before the clock starts

        print("bench: \(deposits) deposits, \(concurrency) concurrent clients, \(instances.count) contribution instance(s)")
        let groupsBefore = await DepositBenchmark.depositGroups(http, instances)
        let runID = UUID().uuidString.prefix(8)
        let counter = Counter()
        let targets = numbers
        let sent = ProgressBar("deposits", unit: "requests")
        let cpuBefore = BenchSupport.processCPUMilliseconds()
        let start = ContinuousClock.now
        let latencies: [Double] = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine: [Double] = []
                    while let index = await counter.next(limit: deposits) {
                        let body =
                            #"{"accountNumber":"\#(targets[index % targets.count])","amountFen":\#(amount),"channel":"alipay","channelTxnId":"bench-\#(runID)-\#(index)","paidAt":"\#(Instant.format(Date()))"}"#
                        let began = ContinuousClock.now
                        let (status, json) = try await DepositBenchmark.post(
                            http, "\(instances[index % instances.count])/v1/contributions", body, as: credential)
                        guard status == 201 else { throw CommandError("deposit refused (\(status)): \(json)") }
                        mine.append((ContinuousClock.now - began).milliseconds)
                        sent.update(Int64(index + 1), of: Int64(deposits))
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let httpDone = ContinuousClock.now - start
        sent.finish(Int64(deposits), of: Int64(deposits))
        try await subscription.value
        let applied = subscriber.finishedAt! - start
        let clientCPU = BenchSupport.processCPUMilliseconds() - cpuBefore

        // The subscriber's view must match the ledger to the fen.
        for number in numbers.prefix(5) {
            let (_, json) = try await DepositBenchmark.get(http, "\(ledgerURL)/v1/accounts/\(number)/balance")
            let ledgerBalance = (json["balanceFen"] as? NSNumber)?.int64Value ?? -1
            guard ledgerBalance == subscriber.balance(of: number) else {
                throw CommandError("account \(number): ledger \(ledgerBalance) fen, events \(subscriber.balance(of: number)) fen")
            }
        }
        let sorted = latencies.sorted()
        let rate = Double(deposits) / applied.seconds
        print(
            String(
                format: "bench: HTTP phase %.2f s (%.0f req/s), latency p50 %.1f ms p99 %.1f ms", httpDone.seconds,
                Double(deposits) / httpDone.seconds, sorted[sorted.count / 2], sorted[Int(Double(sorted.count) * 0.99)]))
        print(String(format: "bench: last event applied after %.2f s", applied.seconds))
        // The load generator shares the machine: its HTTP client, the channel's request
        // signatures and the subscriber above cost CPU the stack cannot have (bench.sh's ceiling).
        print(String(format: "bench: load generator CPU %.2f ms per deposit", clientCPU / Double(deposits)))
        let groupsAfter = await DepositBenchmark.depositGroups(http, instances)
        if let before = groupsBefore, let after = groupsAfter, after.groups > before.groups {
            let groups = after.groups - before.groups
            print(
                String(
                    format: "bench: deposit groups %.0f (%.1f deposits per group), %.0f groups applied one by one", groups, Double(deposits) / groups,
                    after.fallbacks - before.fallbacks))
        }
        print(String(format: "deposits/s: %.0f", rate))
    }

    static func enrolmentBody(serial: Int) -> String {
        let birth = BusinessDate("1980-01-01")!.adding(months: serial % 240)
        let digits = "320706" + String(format: "%04d%02d%02d", birth.year, birth.month, 1 + serial / 240 % 28) + String(format: "%03d", serial / 6720 % 1000)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits.map { Int(String($0))! }, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let id = digits + String(Array("10X98765432")[sum % 11])
        return
            #"{"name":"压测","idNumber":"\#(id)","phone":"13700000000","employmentType":"part_time","industry":"other","role":"other","county":"320706","residence":"urban","childrenCount":0,"education":{"level":"below_bachelor"},"retirementGroup":"\#(Int(String(digits.last!))! % 2 == 1 ? "man" : "woman_55")","agreement":{"schedule":"flexible","amountFen":20000,"channel":"alipay"}}"#
    }

    static func post(_ http: HTTPClient, _ url: String, _ body: String, as credential: Credential = .officer) async throws -> (Int, [String: Any]) {
        let answer = try await HTTPExchange.send("POST", url, body: body, as: credential, limit: 1 << 20, http: http)
        return (answer.status, answer.json)
    }

    /// The deposit groups (group commit) the instances have applied, and those that went one by
    /// one, from their `/metrics`; nil when a service does not say.
    static func depositGroups(_ http: HTTPClient, _ instances: [String]) async -> (groups: Double, fallbacks: Double)? {
        var total = (groups: 0.0, fallbacks: 0.0)
        for instance in instances {
            guard let answer = try? await HTTPExchange.send("GET", "\(instance)/metrics", as: .officer, limit: 1 << 22, http: http), answer.status == 200
            else { return nil }
            for line in answer.text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let value = Double(parts[1]) else { continue }
                if parts[0] == "hpf_deposit_groups_total" { total.groups += value }
                if parts[0] == "hpf_deposit_group_fallbacks_total" { total.fallbacks += value }
            }
        }
        return total
    }

    static func get(_ http: HTTPClient, _ url: String, as credential: Credential = .officer) async throws -> (Int, [String: Any]) {
        let answer = try await HTTPExchange.send("GET", url, as: credential, limit: 1 << 20, http: http)
        return (answer.status, answer.json)
    }

    actor Counter {
        var issued = 0
        func next(limit: Int) -> Int? {
            guard issued < limit else { return nil }
            defer { issued += 1 }
            return issued
        }
    }

    /// Reads the contribution events and applies them: the latest balance per bench account.
    final class Subscriber: @unchecked Sendable {
        let accounts: Set<String>
        let expected: Int
        let logger: Logger
        private let lock = NSLock()
        private var balances: [String: (seq: Int64, balance: Fen)] = [:]
        private(set) var finishedAt: ContinuousClock.Instant?

        init(accounts: Set<String>, expected: Int, logger: Logger) {
            self.accounts = accounts
            self.expected = expected
            self.logger = logger
        }

        func balance(of account: String) -> Fen { lock.withLock { balances[account]?.balance ?? 0 } }

        func run() async throws {
            let consumer = try KafkaConsumer(
                configuration: try Environment.consumer(groupID: "hpfctl.bench.\(UUID().uuidString.prefix(8))", clientID: "hpfctl-bench")
                    .with("auto.offset.reset", "latest"),
                topics: [Topic.contributionEvents.name], logger: logger)
            var seen = 0
            while seen < expected {
                for message in try await consumer.poll(maxMessages: 1000, timeoutMs: 100) {
                    guard let key = message.keyString, accounts.contains(key),
                        let event = try? CloudEventCoding.decode(ContributionReceived.self, from: message.value)
                    else { continue }
                    seen += 1
                    lock.withLock {
                        if event.data.sequence > balances[key]?.seq ?? 0 { balances[key] = (event.data.sequence, event.data.balanceAfterFen) }
                    }
                }
            }
            finishedAt = ContinuousClock.now
            await consumer.close()
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}
