import Contribution
import Enrolment
import Foundation
import Hummingbird
import PartnerCity
import Policy
import RegionalSync
import ServiceRuntime
import Testing
import Withdrawal

/// Several instances of a service behind a load balancer, on one database and one broker, as a
/// platform team runs them: the instances of a service share its consumer groups (Kafka splits
/// the partitions between them), one relay per schema holds the lock, and every effect still
/// happens once, also when an instance dies half-way.
@Suite("Scaling out: two instances of each service on one database and broker")
struct ScaleOutTests {
    static var modules: [any HPFServiceModule.Type] { [EnrolmentService.self, ContributionService.self, WithdrawalService.self, RegionalSyncService.self] }

    /// An instance with no HTTP client of its own (it consumes, relays and runs its jobs) until its
    /// task is cancelled: then it stops where it is, as a killed process would, draining nothing.
    struct Instance: Sendable {
        let task: Task<Void, any Error>
        let ended: Flag
    }

    static func background<App: ApplicationProtocol>(_ app: App) -> Instance {
        let ended = Flag()
        let task = Task {
            defer { ended.set() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        return Instance(task: task, ended: ended)
    }

    @Test("deposits, withdrawal sagas and a transfer in through two instances of each service take effect once, while one instance of each is killed half-way")
    func twoInstancesOneKilled() async throws {
        // One configuration per service, shared by its instances: the same consumer groups.
        var configs: [String: ServiceConfig] = [:]
        for module in Self.modules { configs[module.descriptor.name] = TestStack.config(module.descriptor) }
        let config = { (module: any HPFServiceModule.Type) in configs[module.descriptor.name]! }
        let doomed = try Self.modules.map { Self.background(try $0.buildApplication(config: config($0), clock: TestStack.clock)) }
        defer { for instance in doomed { instance.task.cancel() } }

        try await TestStack.withServices(try Self.modules.map { try StackService($0, config: config($0)) }) { stack in
            let s = WithdrawalTests.Clients(enrolment: stack.enrolment, ledger: stack.ledger, withdrawal: stack.withdrawal)
            // A person who transfers in from Xuzhou (the simulated partner answers this person's letter only).
            let t = TransferTests.Clients(enrolment: stack.enrolment, ledger: stack.ledger, regional: stack.regional, loan: stack.regional)
            let (movingIn, movingInId) = try await TransferTests.person(t)
            let history = PartnerCitySimulator.PartnerAccount(
                accountNumber: "3203008800005678", principalFen: 2_400_000, interestFen: 12_345,
                months: (1...12).map { YearMonth(year: 2024, month: $0) })
            try await TransferTests.withPartner("320300", stack.regional, answer: { $0.receivingAccountNumber == movingIn ? .transfer(history) : .hold }) { _ in
                // Accounts opened while both instances of each service run: the account-opened events
                // are consumed by whichever instance holds their partition.
                var accounts: [String] = []
                for _ in 0..<6 { accounts.append(try await WithdrawalTests.openAccount(s, deposits: [100_000])) }

                // Distinct amounts, so a deposit or a debit applied twice shows in the balance.
                func deposit(_ index: Int, round: Int) async throws {
                    let reply = try await s.ledger.post(
                        "/v1/contributions",
                        Bodies.contribution(account: accounts[index], amountFen: 20_000 + round * 1_000 + index, txn: TestStack.unique("scale")))
                    #expect(reply.status == 201, "\(reply.text)")
                }
                func withdraw(_ index: Int) async throws -> String {
                    let reply = try await s.withdrawal.post("/v1/withdrawals", WithdrawalTests.purchase(accounts[index], amountFen: 30_000 + index))
                    #expect(reply.status == 202, "\(reply.text)")
                    return try #require(reply.string("withdrawalId"), "\(reply.text)")
                }

                // The transfer in starts while both instances of each service run.
                let started = try await t.regional.post("/v1/transfers/in", TransferTests.transferIn(movingIn, movingInId, from: "320300"))
                #expect(started.status == 201, "\(started.text)")
                let transfer = try #require(started.string("transferId"), "\(started.text)")

                // Both instances of everything at work: deposits, and withdrawals for half the accounts.
                var withdrawals: [Int: String] = [:]
                for index in accounts.indices { try await deposit(index, round: 1) }
                for index in 0..<3 { withdrawals[index] = try await withdraw(index) }
                // One instance of each service dies with those sagas in flight.
                for instance in doomed { instance.task.cancel() }
                // Their stop is bounded like any service's (BoundedStop, PatientService): wait for it, but not for ever.
                #expect(
                    try await TestStack.eventually(seconds: 120) { doomed.allSatisfy { $0.ended.isSet } }, "the killed instances ended")
                for index in accounts.indices { try await deposit(index, round: 2) }
                for index in 3..<6 { withdrawals[index] = try await withdraw(index) }

                // Every saga completes on the survivors and is paid once.
                for (index, id) in withdrawals.sorted(by: { $0.key < $1.key }) {
                    let paying = try await WithdrawalTests.await(s, id, stage: "paying", seconds: 180)
                    #expect(paying.int("amountFen") == Int64(30_000 + index), "\(paying.text)")
                    let payout = try #require(paying.string("payoutId"), "\(paying.text)")
                    let confirmed = try await WithdrawalTests.confirm(s, payout: payout, outcome: "paid", channelRef: TestStack.unique("ref"))
                    #expect(confirmed.string("status") == "paid", "\(confirmed.text)")
                }
                for index in accounts.indices {
                    let account = accounts[index]
                    let expected = Int64(100_000 + (21_000 + index) + (22_000 + index) - (30_000 + index))
                    let entries = (try await s.ledger.get("/v1/accounts/\(account)/ledger")["entries"] as? [[String: Any]]) ?? []
                    // A deposit of 2026 settles the 2024-25 interest year of the 2025 history first.
                    let interest = entries.filter { $0["kind"] as? String == "interest" }.reduce(Int64(0)) {
                        $0 + (($1["amountFen"] as? NSNumber)?.int64Value ?? 0)
                    }
                    #expect(try await WithdrawalTests.balance(s, account).map { $0 - interest } == expected, "account \(index)")
                    let kinds = entries.compactMap { $0["kind"] as? String }.filter { $0 != "subsidy" }
                    #expect(kinds.filter { $0 == "withdrawal" }.count == 1, "\(kinds)")
                    #expect(kinds.filter { $0 == "contribution" }.count == 3, "\(kinds)")
                    let view = try await s.withdrawal.get("/v1/withdrawals/\(withdrawals[index]!)")
                    let stages = (view["steps"] as? [[String: Any]])?.filter { $0["code"] as? String != "payout_unconfirmed" }.map { $0["stage"] as? String }
                    #expect(stages == ["requested", "paying", "paid"], "\(view.text)")
                }
                // The transfer ends on the survivors, credited once: principal and interest, one posting.
                let done = try await TransferTests.awaitState(t, transfer, "00")
                #expect((done["steps"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["01", "02", "08", "00"], "\(done.text)")
                let postings = try await TransferTests.ledgerPostings(t, movingIn)
                #expect(postings.filter { $0["kind"] as? String == "transfer_in" }.compactMap { ($0["amountFen"] as? NSNumber)?.int64Value } == [2_412_345])
                #expect(try await WithdrawalTests.balance(s, movingIn) == 2_412_345)
            }
        }
    }

    /// Two runtimes of one service (two instances), their pools running, for `body`.
    static func withTwoInstances(_ body: @Sendable (ServiceRuntime, ServiceRuntime) async throws -> Void) async throws {
        let descriptor = ContributionService.descriptor
        let first = try ServiceRuntime(descriptor: descriptor, config: TestStack.config(descriptor), clock: TestStack.clock)
        let second = try ServiceRuntime(descriptor: descriptor, config: TestStack.config(descriptor), clock: TestStack.clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await first.database.client.run() }
            group.addTask { await second.database.client.run() }
            defer { group.cancelAll() }
            try await body(first, second)
            await first.producer.shutdown()
            await second.producer.shutdown()
        }
    }

    @Test("a scheduled job's round runs on one instance at a time: another instance skips it while one works, and runs the next")
    func oneJobRunnerAtATime() async throws {
        try await Self.withTwoInstances { first, second in
            let job = TestStack.unique("job")
            let entered = Flag(), release = Flag()
            let working = Task {
                try await DailyJob<Int>.exclusively(job, runtime: first) {
                    entered.set()
                    // Holds the round until the other instance has tried.
                    let released = try await TestStack.eventually(seconds: 120) { release.isSet }
                    #expect(released)
                }
            }
            #expect(try await TestStack.eventually(seconds: 120) { entered.isSet })
            let secondRan = try await DailyJob<Int>.exclusively(job, runtime: second) { Issue.record("ran beside the other instance") }
            #expect(!secondRan, "the other instance holds the round")
            // Another job of the same service is not held up.
            #expect(try await DailyJob<Int>.exclusively(job + "-other", runtime: second) {})
            release.set()
            #expect(try await working.value, "the first instance ran its round")
            // The round over (and its lock with it), the next one runs wherever it comes up.
            #expect(try await DailyJob<Int>.exclusively(job, runtime: second) {})
            // A round that fails lets the lock go too.
            struct Failed: Error {}
            await #expect(throws: Failed.self) { try await DailyJob<Int>.exclusively(job, runtime: first) { throw Failed() } }
            #expect(try await DailyJob<Int>.exclusively(job, runtime: second) {})
        }
    }
}
