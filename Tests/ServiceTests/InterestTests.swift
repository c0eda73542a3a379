import Contracts
import Contribution
import Enrolment
import Foundation
import HummingbirdTesting
import Kafka
import Policy
import ServiceRuntime
import Testing

/// Deposit interest on the real ledger, Postgres and broker (POLICY.md "Deposit interest"). The
/// expected interest is computed here the slow way — every day's end-of-day balance from the
/// ledger's own postings, summed, x 1.5 % / 360, half-up — so the ledger's running sum is checked
/// against an independent count. (The hand-worked figures are in `DepositInterestTests`.)
///
/// The accounts open on 2025-07-01 (an enrolment service dated then), so the other tests' ledgers, whose
/// business date is 2026-03-16, have no interest year of theirs to settle; events sent here as
/// another service may be applied by any test's ledger, so the oracle reads the dates the ledger
/// actually gave its postings.
@Suite("Deposit interest on the ledger")
struct InterestTests {
    struct Entry {
        let seq: Int64
        let kind: String
        let amount: Int64
        let date: BusinessDate
        let reference: String
    }

    /// The ledger's routes alone: no consumers and no daily jobs, so a business date set on it
    /// dates only what this test sends it (consumers on a dial would date other tests' events).
    struct LedgerRoutesOnly: HPFServiceModule {
        static let descriptor = ContributionService.descriptor
        let ledger: ContributionService
        init(runtime: ServiceRuntime) { ledger = ContributionService(runtime: runtime) }
        func addRoutes(to routes: Routes) { ledger.addRoutes(to: routes) }
    }

    /// `body(enrolment, ledger, ledgerOnJuly2)`: enrolment dated 2025-07-01; the ledger on the
    /// suite's date; the same ledger's routes on 2 July 2026, the day after an interest year ends.
    func withServices(_ body: @escaping @Sendable (JSONClient, JSONClient, JSONClient) async throws -> Void) async throws {
        let july = try LedgerRoutesOnly.buildApplication(
            config: TestStack.config(ContributionService.descriptor),
            clock: BusinessClock(fixedDate: BusinessDate("2026-07-02")!))
        try await TestStack.withServices([
            .init(EnrolmentService.self, clock: BusinessClock(fixedDate: BusinessDate("2025-07-01")!)),
            .init(ContributionService.self), .init(name: "july", july),
        ]) {
            try await body($0.enrolment, $0.ledger, $0["july"])
        }
    }

    func open(_ enrolment: JSONClient, _ ledger: JSONClient, deposits: [(Int, String)]) async throws -> String {
        let account = try await TestStack.enrol(enrolment, ledger, Bodies.enrolment(idNumber: TestStack.newResidentID(birth: "1990-09-09", male: true)))
        for (amount, paidAt) in deposits {
            let paid = try await ledger.post(
                "/v1/contributions", Bodies.contribution(account: account, amountFen: amount, txn: TestStack.unique("wx"), paidAt: paidAt))
            #expect(paid.status == 201, "\(paid.text)")
        }
        return account
    }

    func entries(_ ledger: JSONClient, _ account: String) async throws -> [Entry] {
        let list = (try await ledger.get("/v1/accounts/\(account)/ledger?limit=500")["entries"] as? [[String: Any]]) ?? []
        return list.map {
            Entry(
                seq: ($0["seq"] as? NSNumber)?.int64Value ?? 0, kind: $0["kind"] as? String ?? "",
                amount: ($0["amountFen"] as? NSNumber)?.int64Value ?? 0, date: BusinessDate($0["businessDate"] as? String ?? "") ?? BusinessDate("1970-01-01")!,
                reference: $0["reference"] as? String ?? "")
        }
    }

    /// Σ over each day from `from` to `through` of the balance at its end (postings dated up to
    /// that day; earlier ones count from `from`), x 1,500 (1.5 % in 0.001 %) / (360 x 100,000), half-up.
    /// A posting counts from its date or from the ledger's business date, whichever is earlier
    /// (another test's subsidy service may run on the real date, ahead of the suite's ledgers).
    func expectedInterest(_ postings: [Entry], from: BusinessDate, through: BusinessDate, ledgerDate: BusinessDate = TestStack.today) -> Int64 {
        var fenDays: Int64 = 0
        var day = from
        while day <= through {
            fenDays += postings.filter { min($0.date, ledgerDate) <= day }.reduce(0) { $0 + $1.amount }
            day = day.adding(days: 1)
        }
        let numerator = fenDays * 1_500, denominator: Int64 = 36_000_000
        return numerator / denominator + (2 * (numerator % denominator) >= denominator ? 1 : 0)
    }

    func send(_ type: EventType, as service: String, account: String, _ data: some Codable & Sendable) async throws {
        let event = CloudEvent(source: "/hpf/\(service)", type: type.rawValue, subject: account, data: data)
        let value = try CloudEventCoding.encode(event)
        let producer = try KafkaProducer(configuration: .producer(brokers: TestStack.brokers, clientID: "test"), logger: TestStack.logger)
        try await producer.send(
            OutgoingMessage(
                topic: type.topic.name, key: account, value: value,
                headers: try TestStack.signed(as: service, topic: type.topic.name, value)))
        await producer.shutdown()
    }

    /// Forgets the account's running sum, as migration 5 leaves an account from before interest
    /// was kept, and returns its last sequence. The update takes the account's row lock, so the
    /// postings up to that sequence are exactly the ones the ledger's rebuild replays.
    func forgetRunningSum(_ account: String) async throws -> Int64 {
        try await TestStack.withDatabase(of: ContributionService.descriptor) { db in
            var seq: Int64 = 0
            for try await last in try await db.query(
                """
                UPDATE accounts SET interest_accrued = NULL, interest_period_from = opened_on, balance_since = opened_on
                WHERE account_number = \(account) RETURNING last_seq
                """
            ).decode(Int64.self) { seq = last }
            return seq
        }
    }

    /// A 100.00 subsidy dated `grantedOn`, sent as the subsidy service, and waited for on the ledger.
    func credit(_ account: String, grantedOn: String, _ ledger: JSONClient) async throws {
        let grantId = UUID().uuidString.lowercased()
        try await send(
            .subsidyGranted, as: "subsidy", account: account,
            SubsidyGranted(
                grantId: grantId, accountNumber: account, kind: .annual, amountFen: 10_000,
                grantedOn: BusinessDate(grantedOn)!, reason: "a credit in an interest test", lots: 1, remainingCapFen: 0))
        #expect(
            try await TestStack.eventually { try await entries(ledger, account).contains { $0.reference == "subsidy:\(grantId)" } },
            "the grant is credited")
    }

    @Test("a year of deposits and a withdrawal: on the first posting after 30 June the year's interest is posted, dated 30 June, once")
    func annualSettlement() async throws {
        try await withServices { enrolment, ledger, julyLedger in
            let account = try await open(enrolment, ledger, deposits: [(1_000_000, "2025-07-01T09:00:00+08:00"), (250_000, "2025-12-01T09:00:00+08:00")])
            try await send(
                .withdrawalRequested, as: "withdrawal", account: account,
                WithdrawalRequested(
                    withdrawalId: UUID().uuidString.lowercased(), accountNumber: account, reason: .rent, amountFen: 300_000,
                    closureReason: nil, requestedOn: TestStack.today))
            #expect(try await TestStack.eventually { try await entries(ledger, account).contains { $0.kind == "withdrawal" } }, "the debit is posted")
            let early = try await entries(ledger, account)
            #expect(!early.contains { $0.kind == "interest" }, "nothing is settled before the year is over")
            // The view's accrued interest matches the postings (read until no credit, such as a
            // subsidy from another test's service, lands between the two reads).
            var view: JSONClient.Reply?
            var counted: Int64 = -1
            #expect(
                try await TestStack.eventually {
                    let before = try await entries(ledger, account)
                    view = try await ledger.get("/v1/accounts/\(account)/balance")
                    counted = expectedInterest(before, from: BusinessDate("2025-07-01")!, through: TestStack.today)
                    let again = try await entries(ledger, account)
                    return view?.int("accruedInterestFen") == counted && again.count == before.count
                }, "accrued \(view?.text ?? "") vs \(counted)")
            #expect(view?.string("interestPeriodFrom") == "2025-07-01" && view?.int("interestFen") == 0, "\(view?.text ?? "")")

            // The ledger rebuilds the forgotten running sum from the postings, to the same fen; a
            // credit another test's service sends after the reset is posted live, counted from the
            // ledger's date if that is earlier.
            let replayedThrough = try await forgetRunningSum(account)
            #expect(replayedThrough > 0, "the account's running sum was forgotten")
            // That live case, made certain: a grant dated after the year's end reaches the suite's
            // ledger (dated 2026-03-16) first, so the rebuild replays the postings above and this
            // credit counts from 2026-03-16 (107 days of the year), not from its date. (Unless a
            // replayed posting is itself dated after 30 June - another test's annual subsidy, say:
            // then the rebuild crosses the year's end and posts its interest before this credit.)
            try await credit(account, grantedOn: "2026-09-01", ledger)
            // A payment on 2 July 2026 (the ledger's date) reaches the account first: the year to
            // 30 June is settled before it.
            let julyTxn = TestStack.unique("wx")
            let july = try await julyLedger.post(
                "/v1/contributions",
                Bodies.contribution(
                    account: account, amountFen: 20_000, txn: julyTxn,
                    paidAt: "2026-07-02T09:00:00+08:00"))
            #expect(july.status == 201, "\(july.text)")
            let after = try await entries(ledger, account)
            let interest = try #require(after.first { $0.kind == "interest" }, "an interest posting")
            // Rebuilt from the postings, each counts from the date it carries.
            let expected = expectedInterest(
                after.filter { $0.seq < interest.seq }.map {
                    $0.seq <= replayedThrough
                        ? $0 : Entry(seq: $0.seq, kind: $0.kind, amount: $0.amount, date: min($0.date, TestStack.today), reference: $0.reference)
                }, from: BusinessDate("2025-07-01")!, through: BusinessDate("2026-06-30")!,
                ledgerDate: BusinessDate("9999-12-31")!)
            #expect(expected > 10_000, "the year earned interest (\(expected))")
            #expect(
                interest.amount == expected && interest.date == BusinessDate("2026-06-30")! && interest.reference == "interest:2026-06-30",
                "\(interest) vs \(expected)")
            // The year is settled by the first posting that reaches past 30 June: the rebuild, when it
            // replays one dated after it (right after the reset, before anything else), or else the
            // July payment (just before it).
            let rebuildCrossed = after.contains { $0.seq <= replayedThrough && $0.date > BusinessDate("2026-06-30")! }
            if rebuildCrossed {
                #expect(interest.seq == replayedThrough + 1, "the rebuild posts the year's interest first")
            } else {
                #expect(after.first { $0.reference == "wechat:\(julyTxn)" }?.seq == interest.seq + 1, "the July payment comes just after the interest")
            }
            #expect(after.filter { $0.kind == "interest" }.count == 1)

            let settled = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1, seconds: 60) {
                $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.interestSettled.rawValue
            }
            let event = try CloudEventCoding.decode(InterestSettled.self, from: try #require(settled.first).value).data
            #expect(
                event.interestFen == expected && event.occasion == .annual && event.periodFrom == BusinessDate("2025-07-01")!
                    && event.periodThrough == BusinessDate("2026-06-30")! && event.sequence == interest.seq)

            // The staff run finds nothing left to do for this account; a citizen may not run it.
            #expect(
                try await ledger.post(
                    "/v1/jobs/interest-settlement", #"{"asOf":"2026-03-16"}"#,
                    as: .citizen(TestStack.newResidentID(birth: "1990-01-01", male: true))
                ).status == 403)
            let run = try await ledger.post("/v1/jobs/interest-settlement", #"{"asOf":"2026-03-16"}"#)
            #expect(run.status == 200 && run.string("settlementDay") == "2025-06-30", "\(run.text)")
            let balance = try await ledger.get("/v1/accounts/\(account)/balance")
            #expect(balance.int("interestFen") == expected && balance.string("interestPeriodFrom") == "2026-07-01", "\(balance.text)")
            #expect(try await entries(ledger, account).filter { $0.kind == "interest" }.count == 1)
        }
    }

    @Test(
        "an account from before interest was kept, with a posting dated after 30 June: the rebuild posts the year's interest, each posting counted from its own date"
    )
    func rebuildAcrossTheYearsEnd() async throws {
        try await withServices { enrolment, ledger, _ in
            let account = try await open(enrolment, ledger, deposits: [(1_000_000, "2025-07-01T09:00:00+08:00")])
            // A credit dated 1 July 2026, applied live by the suite's ledger (dated 2026-03-16): the
            // running sum counts it from 2026-03-16. Then the running sum is forgotten.
            try await credit(account, grantedOn: "2026-07-01", ledger)
            let replayedThrough = try await forgetRunningSum(account)
            // The next posting, on the suite's date, finds the running sum forgotten: the replay reaches
            // the credit dated 1 July and settles the year to 30 June first.
            let paid = try await ledger.post(
                "/v1/contributions",
                Bodies.contribution(account: account, amountFen: 20_000, txn: TestStack.unique("wx"), paidAt: "2026-03-16T09:00:00+08:00"))
            #expect(paid.status == 201, "\(paid.text)")
            let after = try await entries(ledger, account)
            let interest = try #require(after.first { $0.kind == "interest" }, "the rebuild posted the year's interest")
            #expect(interest.seq == replayedThrough + 1, "before anything else reached the account")
            // From their own dates: the credit of 1 July earns nothing in the year to 30 June (the
            // live running sum had counted it from 2026-03-16).
            let replayed = after.filter { $0.seq <= replayedThrough }
            let expected = expectedInterest(
                replayed, from: BusinessDate("2025-07-01")!, through: BusinessDate("2026-06-30")!, ledgerDate: BusinessDate("9999-12-31")!)
            let live = expectedInterest(replayed, from: BusinessDate("2025-07-01")!, through: BusinessDate("2026-06-30")!)
            #expect(expected > 10_000 && expected != live, "the two rules differ here (\(expected) vs \(live))")
            #expect(
                interest.amount == expected && interest.date == BusinessDate("2026-06-30")! && interest.reference == "interest:2026-06-30",
                "\(interest) vs \(expected)")
            #expect(after.filter { $0.kind == "interest" }.count == 1)
        }
    }

    @Test("a closure and a transfer out settle interest up to the day before, and the money moved includes it")
    func closureAndTransfer() async throws {
        try await withServices { enrolment, ledger, _ in
            let closing = try await open(enrolment, ledger, deposits: [(1_000_000, "2025-07-01T09:00:00+08:00")])
            let leaving = try await open(enrolment, ledger, deposits: [(600_000, "2025-08-15T09:00:00+08:00")])
            let closureId = UUID().uuidString.lowercased(), transferId = UUID().uuidString.lowercased()
            try await send(
                .withdrawalRequested, as: "withdrawal", account: closing,
                WithdrawalRequested(
                    withdrawalId: closureId, accountNumber: closing, reason: .closure, amountFen: nil,
                    closureReason: .leavingCity, requestedOn: TestStack.today))
            try await send(
                .transferOutRequested, as: "regional-sync", account: leaving,
                TransferOutStep(
                    transferId: transferId, accountNumber: leaving, letterNumber: TestStack.unique("L"), receivingCity: "320300",
                    on: TestStack.today))
            for (account, debitId, occasion) in [(closing, closureId, InterestSettled.Occasion.closure), (leaving, transferId, .transferOut)] {
                let debits = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1, seconds: 60) {
                    $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.debitPosted.rawValue
                }
                let debit = try CloudEventCoding.decode(DebitPosted.self, from: try #require(debits.first, "\(occasion) debited").value).data
                #expect(debit.debitId == debitId)
                let all = try await entries(ledger, account)
                // The interest posting just before the debit (a ledger whose date is past a 30 June
                // would post that year's interest first as well).
                let interest = try #require(all.first { $0.seq == debit.sequence - 1 && $0.kind == "interest" }, "\(occasion): interest before the debit")
                let settled = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1, seconds: 60) {
                    $0.keyString == account && (try? CloudEventCoding.decode(InterestSettled.self, from: $0.value))?.data.sequence == interest.seq
                }
                let event = try CloudEventCoding.decode(InterestSettled.self, from: try #require(settled.first).value).data
                let last = debit.postedOn.adding(days: -1)
                let expected = expectedInterest(all.filter { $0.seq < interest.seq }, from: event.periodFrom, through: last, ledgerDate: debit.postedOn)
                #expect(expected > 0 && interest.amount == expected && interest.date == debit.postedOn, "\(occasion): \(interest) vs \(expected)")
                #expect(event.occasion == occasion && event.interestFen == expected && event.periodThrough == last)
                #expect(
                    debit.interestFen == expected && debit.amountFen == all.filter { $0.seq <= interest.seq }.reduce(0) { $0 + $1.amount }
                        && debit.balanceAfterFen == 0, "\(occasion): the whole balance with its interest leaves: \(debit)")
            }
        }
    }
}
