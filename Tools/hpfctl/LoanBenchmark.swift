import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Policy

/// Decision latency of the one-thing application at a fixed request rate (open loop: requests
/// leave on schedule whether or not earlier ones have answered, so queueing shows in the
/// latency). Applicants have 2 years of history (imported), so every request runs the whole
/// assessment; an applicant's later requests are refused with `outstanding_hpf_loan` after the
/// same work. Prints `loan-decision: R req/s p50 X ms p99 Y ms`.
struct LoanBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-loans",
        abstract: "One-thing loan decisions at a fixed request rate: p50 and p99 latency (make bench's stack by default).",
        discussion: "Prints `loan-decision: R req/s p50 X ms p99 Y ms`; with --seed-accounts once per population of "
            + "participants seeded into the loan read model (straight into the database: refused on make run's "
            + "Postgres), with --saturation the highest rate of the ladder still answered with p99 under 50 ms. "
            + "Refuses make run's ports (8081-8086).")

    @Option(help: "Applications per second.")
    var rate: Int = 200

    @Option(help: "Seconds at the rate (after a 1 s warm-up).")
    var seconds: Int = 20

    @Option(help: "Applicants to enrol (each with 24 months of imported history).")
    var accounts: Int = 200

    @Option(help: ArgumentHelp("Populations of other participants to seed into the loan read model, one measurement each.", valueName: "n,n,..."))
    var seedAccounts: IntList?

    @Option(help: ArgumentHelp("A ladder of rates for the saturation point (p99 under 50 ms).", valueName: "rate,rate,..."))
    var saturation: IntList?

    @Option(
        help: ArgumentHelp(
            "Append each measured request's send time and latency (ms, tab-separated) to this file, one section per measurement.", valueName: "file"))
    var latencyLog: String?

    @Option(name: .customLong("url"), help: "The loan service.")
    var loanURL: String = Stack.benchURL("loan")

    @Option(name: .customLong("enrolment-url"), help: "The enrolment service.")
    var enrolmentURL: String = Stack.benchURL("enrolment")

    @Option(name: .customLong("ledger-url"), help: "The contribution service (the ledger).")
    var ledgerURL: String = Stack.benchURL("contribution")

    func validate() throws {
        try Checks.within(1...100_000, rate, "--rate")
        try Checks.within(1...86_400, seconds, "--seconds")
        try Checks.atLeast(1, accounts, "--accounts")
        try Stack.refuseRunStack(loanURL, option: "--url")
        try Stack.refuseRunStack(enrolmentURL, option: "--enrolment-url")
        try Stack.refuseRunStack(ledgerURL, option: "--ledger-url")
        if seedAccounts != nil { try Stack.refuseRunStackDatabase("bench-loans --seed-accounts") }
    }

    func run() async throws {
        let rate = self.rate
        let seconds = self.seconds
        let accounts = self.accounts
        let enrolmentURL = self.enrolmentURL
        let ledgerURL = self.ledgerURL
        let loanURL = self.loanURL
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                timeout: .init(connect: .seconds(120), read: .seconds(120)),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))

        print("bench: \(accounts) applicants with 24 months of imported history")
        let numbers = try await BenchSupport.enrol(accounts, http: http, enrolmentURL: enrolmentURL)
        let runID = UUID().uuidString.prefix(8)
        for number in numbers {
            try await WithdrawalBenchmark.waitFor("\(ledgerURL)/v1/accounts/\(number)/balance", http)
            let items = (0..<24).map { month -> String in
                let paid = BusinessDate("2024-01-15")!.adding(months: month)
                return
                    #"{"accountNumber":"\#(number)","amountFen":300000,"paidAt":"\#(paid)T10:00:00+08:00","legacyId":"lbench-\#(runID)-\#(number)-\#(month)"}"#
            }
            let (status, json) = try await DepositBenchmark.post(http, "\(ledgerURL)/v1/imports/contributions", "[\(items.joined(separator: ","))]")
            guard status == 200 else { throw CommandError("import refused (\(status)): \(json)") }
        }
        for number in numbers {
            for _ in 0..<600 {
                let (_, json) = try await DepositBenchmark.get(http, "\(loanURL)/v1/accounts/\(number)/loan-quota")
                if ((json["quota"] as? [String: Any])?["balanceFen"] as? NSNumber)?.int64Value == 24 * 300_000 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        _ = try await DepositBenchmark.post(
            http, "\(loanURL)/v1/fund-pool/entries", #"{"kind":"employed_share","amountFen":10000000000000,"reference":"bench"}"#)

        // §19 at city scale: the same rate with N other participants in the loan service's read
        // model (and so in its pool), to show what a decision costs no longer grows with them.
        let populations = seedAccounts?.values ?? []
        if populations.isEmpty {
            let figures = try await Self.measure(rate: rate, seconds: seconds, numbers: numbers, loanURL: loanURL, http: http, log: latencyLog)
            print(String(format: "loan-decision: %d req/s p50 %.1f ms p99 %.1f ms", rate, figures.p50, figures.p99))
        }
        let seeding = populations.isEmpty ? nil : try SeededParticipants()
        for population in populations {
            try await seeding?.seed(population)
            let figures = try await Self.measure(
                rate: rate, seconds: seconds, numbers: numbers, loanURL: loanURL, http: http, log: latencyLog, label: " with \(population) accounts")
            print(String(format: "loan-decision: %d req/s p50 %.1f ms p99 %.1f ms with %d accounts", rate, figures.p50, figures.p99, population))
        }
        // The saturation point: the highest of a ladder of rates still answered with p99 under 50 ms.
        let ladder = saturation?.values ?? []
        if !ladder.isEmpty {
            var best: (rate: Int, p99: Double)?
            for step in ladder {
                let figures = try await Self.measure(
                    rate: step, seconds: max(seconds / 2, 5), numbers: numbers, loanURL: loanURL, http: http, log: latencyLog, label: " (saturation ladder)")
                print(String(format: "bench: %d req/s p50 %.1f ms p99 %.1f ms", step, figures.p50, figures.p99))
                guard figures.p99 < 50 else { break }
                best = (step, figures.p99)
            }
            let accounts = populations.last.map { " with \($0) accounts" } ?? ""
            if let best {
                print(String(format: "loan-saturation: %d req/s is the highest rate tried with p99 under 50 ms (p99 %.1f ms)%@", best.rate, best.p99, accounts))
            } else {
                print("loan-saturation: no rate tried kept p99 under 50 ms\(accounts)")
            }
        }
        try await seeding?.close()
        try? await http.shutdown()
    }

    /// One warm-up second at the rate (not counted: the services open their database connections
    /// on the first burst), then `seconds` at the rate; latency percentiles in ms.
    static func measure(
        rate: Int, seconds: Int, numbers: [String], loanURL: String, http: HTTPClient, log: String? = nil, label: String = ""
    ) async throws -> (p50: Double, p99: Double) {
        _ = try await Self.send(rate, rate: rate, to: numbers, loanURL: loanURL, http: http)
        let total = rate * seconds
        print("bench: \(total) applications at \(rate) req/s (after a 1 s warm-up)")
        let start = ContinuousClock.now
        let wallStart = Date().timeIntervalSince1970
        let timed = try await Self.send(total, rate: rate, to: numbers, loanURL: loanURL, http: http)
        let elapsed = (ContinuousClock.now - start).seconds
        if let log {
            let lines =
                String(format: "# %d req/s%@, started at %.3f (Unix time)\n", rate, label, wallStart)
                + timed.sorted { $0.sent < $1.sent }.map { String(format: "%.1f\t%.2f\n", $0.sent, $0.latency) }.joined()
            try Self.append(lines, to: log)
        }
        let latencies = timed.map(\.latency)
        let achieved = Double(total) / elapsed
        let sorted = latencies.sorted()
        let failed = latencies.filter { $0 == .infinity }.count
        print(
            String(
                format: "bench: %d decisions in %.1f s (%.0f/s achieved)%@", total, elapsed, achieved,
                failed > 0 ? " \(failed) not answered with a decision" : ""))
        return (sorted[sorted.count / 2], sorted[min(Int(Double(sorted.count) * 0.99), sorted.count - 1)])
    }

    /// Appends `text` to the file at `path` (created when missing): one section per measurement.
    static func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let file = FileHandle(forWritingAtPath: path) else { throw CommandError("cannot write \(path)") }
        defer { try? file.close() }
        try file.seekToEnd()
        try file.write(contentsOf: Data(text.utf8))
    }

    /// Sends `total` applications at `rate` per second (open loop) and returns, for each, when it
    /// left (ms from the first) and its latency in ms.
    static func send(_ total: Int, rate: Int, to targets: [String], loanURL: String, http: HTTPClient) async throws -> [(sent: Double, latency: Double)] {
        let start = ContinuousClock.now
        return try await withThrowingTaskGroup(of: (sent: Double, latency: Double).self) { group in
            for index in 0..<total {
                try await Task.sleep(until: start + .microseconds(Int64(index) * 1_000_000 / Int64(rate)), clock: .continuous)
                group.addTask {
                    let body =
                        #"{"accountNumber":"\#(targets[index % targets.count])","house":{"county":"320706","priceFen":150000000,"firstHome":true,"green":\#(index % 2 == 0)},"requestedFen":60000000,"termMonths":240,"repaymentMethod":"equal_installment","monthlyIncomeFen":1500000,"monthlyDebtFen":0}"#
                    let began = ContinuousClock.now
                    let sent = (began - start).milliseconds
                    // An answer other than a decision (a 503 when the service is overrun, a timeout)
                    // counts as infinitely slow: it is the p99 that says whether the rate was held.
                    // Only the status is read: parsing each decision would be load-generator CPU taken from the stack.
                    guard
                        let status = try? await HTTPExchange.send(
                            "POST", "\(loanURL)/v1/loan-applications", body: body, as: .officer, limit: 1 << 20, http: http
                        )
                        .status, status == 201
                    else {
                        return (sent, .infinity)
                    }
                    return (sent, (ContinuousClock.now - began).milliseconds)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }
}
