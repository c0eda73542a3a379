import Contracts
import Contribution
import Enrolment
import Foundation
import Hummingbird
import HummingbirdTesting
import Loan
import Policy
import ServiceRuntime
import Testing

/// The loan one-thing application end to end: facts from the enrolment and ledger events, one
/// decision with every reason, schedules, and the fund pool's liquidity. Serialized: the fund
/// pool is one for the whole database.
@Suite("Loans: the one-thing application and the fund pool", .serialized)
struct LoanTests {

    struct Clients: Sendable {
        let enrolment: JSONClient
        let ledger: JSONClient
        let loan: JSONClient
    }

    func withServices(clock: BusinessClock = TestStack.clock, _ body: @escaping @Sendable (Clients) async throws -> Void) async throws {
        try await TestStack.withServices([.init(EnrolmentService.self, clock: clock), .init(ContributionService.self), .init(LoanService.self, clock: clock)]) {
            try await body(Clients(enrolment: $0.enrolment, ledger: $0.ledger, loan: $0.loan))
        }
    }

    /// An account with one 2,000-yuan contribution in each of `months` months of 2025 (before the
    /// scheme, so no subsidy joins), known to the loan service.
    static func contributor(
        _ s: Clients, months: Int, birth: String? = nil, education: String = #"{"level":"below_bachelor"}"#,
        person chosen: String? = nil
    ) async throws -> String {
        // Born in the 1990s: a 20-year term ends well before retirement + 5 years.
        let date = birth ?? String(format: "19%02d-%02d-%02d", Int.random(in: 92...99), Int.random(in: 1...12), Int.random(in: 1...28))
        let person = chosen ?? TestStack.newResidentID(birth: date, male: Bool.random())
        let account = try await TestStack.enrol(s.enrolment, s.ledger, Bodies.enrolment(idNumber: person, education: education))
        if months > 0 {
            let history = (0..<months).map { (amountFen: 200_000, paidAt: String(format: "2025-%02d-15T10:00:00+08:00", $0 + 1)) }
            let imported = try await s.ledger.post("/v1/imports/contributions", Bodies.history(account: account, history))
            #expect(imported.int("imported") == Int64(months), "\(imported.text)")
        }
        // (At least: another test's annual-subsidy run may credit these lots; that is not a contribution.)
        #expect(
            try await TestStack.eventually {
                try await s.loan.get("/v1/accounts/\(account)/loan-quota").json["quota"].flatMap { ($0 as? [String: Any])?["balanceFen"] as? NSNumber }?
                    .int64Value
                    ?? 0 >= Int64(months) * 200_000
            }, "the loan service has seen every contribution")
        return account
    }

    static func application(
        _ account: String, spouse: String? = nil, county: String = "320706", price: Int64 = 150_000_000,
        requested: Int64 = 50_000_000, term: Int = 240, income: Int64 = 2_000_000, green: Bool = false
    ) -> String {
        let spouseField = spouse.map { #""spouseAccountNumber":"\#($0)","# } ?? ""
        return
            #"{"accountNumber":"\#(account)",\#(spouseField)"house":{"county":"\#(county)","priceFen":\#(price),"firstHome":true,"green":\#(green)},"requestedFen":\#(requested),"termMonths":\#(term),"repaymentMethod":"equal_installment","monthlyIncomeFen":\#(income),"monthlyDebtFen":0}"#
    }

    /// Sets the employed contributors' share so that the pool's assets are `assets` fen.
    static func setPool(_ s: Clients, assets: Int64) async throws {
        let pool = try await s.loan.get("/v1/fund-pool")
        let delta = assets - (pool.int("assetsFen") ?? 0)
        guard delta != 0 else { return }
        let entry = try await s.loan.post("/v1/fund-pool/entries", #"{"kind":"employed_share","amountFen":\#(delta),"reference":"test"}"#)
        #expect(entry.status == 201, "\(entry.text)")
    }

    @Test("5 contribution months are refused, 6 approved with the quota's factors, a schedule to the fen and events")
    func sixMonths() async throws {
        try await withServices { s in
            try await Self.setPool(s, assets: 100_000_000_000)
            let five = try await Self.contributor(s, months: 5)
            let refused = try await s.loan.post("/v1/loan-applications", Self.application(five))
            #expect(refused.status == 201 && refused.string("decision") == "rejected", "\(refused.text)")
            #expect((refused["reasons"] as? [String]) == ["contribution_months_below_6"])
            #expect(refused.int("approvedFen") == 0)
            // A request id makes an application idempotent: the same body again is answered with the
            // same decision (200), another body under that id is refused (409); neither decides again.
            let requestId = TestStack.unique("apply")
            let withId = Self.application(five).replacingOccurrences(
                of: #""monthlyDebtFen":0}"#, with: #""monthlyDebtFen":0,"requestId":"\#(requestId)"}"#)
            let decidedOnce = try await s.loan.post("/v1/loan-applications", withId)
            #expect(decidedOnce.status == 201, "\(decidedOnce.text)")
            let replayed = try await s.loan.post("/v1/loan-applications", withId)
            #expect(replayed.status == 200 && replayed.string("applicationId") == decidedOnce.string("applicationId"), "\(replayed.text)")
            let otherBody = try await s.loan.post(
                "/v1/loan-applications", withId.replacingOccurrences(of: #""requestedFen":50000000"#, with: #""requestedFen":40000000"#))
            #expect(otherBody.status == 409 && otherBody.string("code") == "duplicate_request_mismatch", "\(otherBody.text)")

            let six = try await Self.contributor(s, months: 6)
            let approved = try await s.loan.post("/v1/loan-applications", Self.application(six))
            #expect(approved.string("decision") == "approved", "\(approved.text)")
            // Balance 12,000; average 2,000 a month; 240 months: (180,000 + 720,000) / 2 = 450,000 yuan,
            // x 0.8 (6 months in all) x 0.8 (3 of the last 12 months: 2025-04 to 2026-03) = 288,000.
            // (A subsidy another test's annual run credits joins the balance, not the average.)
            let quota = try #require(approved["quota"] as? [String: Any])
            let balance = try #require((quota["balanceFen"] as? NSNumber)?.int64Value)
            #expect((quota["averageMonthlyFen"] as? NSNumber)?.int64Value == 200_000)
            let linkage = (balance * 15 + 200_000 * 240 * 3 / 2) / 2 * 8 / 10 * 8 / 10
            #expect(balance > 1_200_000 || linkage == 28_800_000)
            #expect((quota["linkageFen"] as? NSNumber)?.int64Value == linkage)
            #expect(quota["bindingFactor"] as? String == "linkage")
            #expect(approved.int("approvedFen") == linkage / 100_000 * 100_000)
            #expect((approved["reasons"] as? [String]) == ["limited_by_linkage"])
            #expect(approved.string("annualRate") == "2.600")
            let loanId = try #require(approved.string("loanId"))
            let schedule = try await s.loan.get("/v1/loans/\(loanId)/schedule")
            let rows = try #require(schedule["instalments"] as? [[String: Any]])
            #expect(rows.count == 240)
            #expect(rows.reduce(Int64(0)) { $0 + (($1["principalFen"] as? NSNumber)?.int64Value ?? 0) } == approved.int("approvedFen"))
            #expect((rows[0]["paymentFen"] as? NSNumber)?.int64Value == approved.int("firstPaymentFen"))
            #expect(try await s.loan.get("/v1/loans/\(loanId)").string("status") == "active")
            // §18: the investigation and the review are recorded with the application.
            let record = try await s.loan.get("/v1/loan-applications/\(try #require(approved.string("applicationId")))")
            #expect(record.status == 200 && (record["investigation"] as? [String: String])?["contributionMonths"]?.hasPrefix("6") == true)
            #expect((record["review"] as? [String: String])?["decision"] == "approved")

            // One outstanding HPF loan per household.
            let second = try await s.loan.post("/v1/loan-applications", Self.application(six))
            #expect((second["reasons"] as? [String])?.contains("outstanding_hpf_loan") == true)

            let decided = try await TestStack.read(topic: Topic.loanEvents.name, count: 2) { $0.keyString == six }
            let types = decided.compactMap { try? CloudEventCoding.header(from: $0.value).type }
            #expect(types.contains(EventType.loanApplicationDecided.rawValue) && types.contains(EventType.loanDisbursed.rawValue))
        }
    }

    @Test("refusal codes, bad input, the couple ceiling and uplifts in the pre-assessment")
    func refusalsAndQuota() async throws {
        try await withServices { s in
            try await Self.setPool(s, assets: 100_000_000_000)
            let account = try await Self.contributor(
                s, months: 12, birth: "2001-05-05",
                education: #"{"level":"bachelor","graduationDate":"2025-06-30"}"#)
            let outside = try await s.loan.post("/v1/loan-applications", Self.application(account, county: "320506"))
            #expect((outside["reasons"] as? [String]) == ["house_outside_city"])
            let poor = try await s.loan.post("/v1/loan-applications", Self.application(account, income: 0))
            #expect((poor["reasons"] as? [String]) == ["exceeds_repayment_capacity"] && poor.string("decision") == "rejected")
            let bad = try await s.loan.post("/v1/loan-applications", Self.application(account, requested: -5))
            #expect(bad.status == 400 && bad.text.contains("requestedFen"))
            #expect(try await s.loan.post("/v1/loan-applications", Self.application("3207009999999999")).status == 404)

            let spousePerson = TestStack.newResidentID(birth: "1994-04-04", male: false)
            let spouse = try await Self.contributor(s, months: 3, person: spousePerson)
            // Naming a spouse counts nothing until the spouse, signed in, consents (no borrowing on a stranger's balance).
            let unconsented = try await s.loan.get("/v1/accounts/\(account)/loan-quota?spouseAccountNumber=\(spouse)&green=true&termMonths=360")
            #expect(unconsented.status == 422 && unconsented.string("code") == "spouse_consent_missing", "\(unconsented.text)")
            let consentBody = #"{"applicantAccountNumber":"\#(account)"}"#
            let stranger = TestStack.newResidentID(birth: "1990-01-01", male: true)
            #expect(
                try await s.loan.post("/v1/accounts/\(spouse)/spouse-consents", consentBody, as: .citizen(stranger)).status == 404,
                "only the spouse may consent for their own account")
            #expect(
                try await s.loan.post("/v1/accounts/\(spouse)/spouse-consents", consentBody, as: .officer).status == 403,
                "an officer cannot consent for the spouse")
            let consent = try await s.loan.post("/v1/accounts/\(spouse)/spouse-consents", consentBody, as: .citizen(spousePerson))
            #expect(consent.status == 201 && consent.string("consentId") != nil, "\(consent.text)")
            let quota = try await s.loan.get("/v1/accounts/\(account)/loan-quota?spouseAccountNumber=\(spouse)&green=true&termMonths=360")
            #expect(quota.status == 200, "\(quota.text)")
            let q = try #require(quota["quota"] as? [String: Any])
            // +20 % green and +50 % graduate within 2 years, additive; the couple ceiling 800,000 x 1.7.
            #expect((q["upliftBasisPoints"] as? NSNumber)?.int64Value == 7_000)
            #expect((q["cityCeilingFen"] as? NSNumber)?.int64Value == 136_000_000)
            #expect((q["balanceFen"] as? NSNumber)?.int64Value ?? 0 >= 3_000_000, "the spouse's balance counts: 15 months of 2,000 yuan")
            #expect((q["averageMonthlyFen"] as? NSNumber)?.int64Value == 400_000, "both averages of 2,000 a month")
            #expect(quota["eligible"] as? Bool == true)
            #expect(try await s.loan.get("/v1/accounts/\(account)/loan-quota?priceFen=abc").status == 400)
        }
    }

    @Test("§19: an approval that would breach the liquidity floor waits; a credit line releases it")
    func awaitingLiquidity() async throws {
        try await withServices { s in
            let account = try await Self.contributor(s, months: 6)
            // Exactly this loan's amount is free: lending it would leave nothing above the 10 % floor
            // (deposits of tests running alongside add far less than the floor).
            let pool = try await s.loan.get("/v1/fund-pool")
            let outstanding = pool.int("loansOutstandingFen") ?? 0
            try await Self.setPool(s, assets: outstanding + 5_000_000)
            let waiting = try await s.loan.post("/v1/loan-applications", Self.application(account, requested: 5_000_000))
            #expect(waiting.string("decision") == "awaiting_liquidity", "\(waiting.text)")
            #expect((waiting["reasons"] as? [String])?.contains("fund_pool_below_liquidity_floor") == true)
            let loanId = try #require(waiting.string("loanId"))
            #expect(try await s.loan.get("/v1/loans/\(loanId)").string("status") == "awaiting_liquidity")
            #expect(try await s.loan.get("/v1/fund-pool").int("awaitingLiquidity") ?? 0 >= 1)

            let anonymous = try await s.loan.post("/v1/fund-pool/entries", #"{"kind":"credit_line","amountFen":1,"reference":"x"}"#, as: .anonymous)
            #expect(anonymous.status == 401)
            let credit = try await s.loan.post("/v1/fund-pool/entries", #"{"kind":"credit_line","amountFen":50000000,"reference":"ICBC line 2026-03"}"#)
            #expect(credit.status == 201 && (credit.int("released") ?? 0) >= 1, "\(credit.text)")
            #expect(try await s.loan.get("/v1/loans/\(loanId)").string("status") == "active")
            try await Self.setPool(s, assets: 100_000_000_000)
        }
    }

    @Test("§19 at scale: two approvals racing for the last liquidity, one paid out and one queued; a deposit releases it; the totals equal a recomputation")
    func liquidityRace() async throws {
        try await withServices { s in
            let first = try await Self.contributor(s, months: 6)
            let second = try await Self.contributor(s, months: 6)
            let depositor = try await Self.contributor(s, months: 0)
            // Room for one 50,000-yuan loan and not two: the first has `principal - short` to spare above
            // the floor (10 % of the assets), the second is `short` below it, so other suites' deposits
            // and withdrawals meanwhile (far smaller) can tip neither way.
            let principal: Int64 = 5_000_000
            let short: Int64 = 2_500_000
            let outstanding = try await s.loan.get("/v1/fund-pool").int("loansOutstandingFen") ?? 0
            try await Self.setPool(s, assets: (outstanding + 2 * principal - short) * 10 / 9)
            async let a = s.loan.post("/v1/loan-applications", Self.application(first, requested: principal))
            async let b = s.loan.post("/v1/loan-applications", Self.application(second, requested: principal))
            let decisions = try await [a, b]
            #expect(Set(decisions.compactMap { $0.string("decision") }) == ["approved", "awaiting_liquidity"], "\(decisions.map(\.text))")
            let queued = try #require(decisions.first { $0.string("decision") == "awaiting_liquidity" }?.string("loanId"))
            #expect(try await s.loan.get("/v1/loans/\(queued)").string("status") == "awaiting_liquidity")

            // A deposit brings the pool back above its floor: the queued loan goes out, no staff involved.
            let deposits = (1...10).map { (amountFen: 1_000_000, paidAt: String(format: "2025-%02d-20T10:00:00+08:00", $0)) }
            let imported = try await s.ledger.post("/v1/imports/contributions", Bodies.history(account: depositor, deposits))
            #expect(imported.int("imported") == 10, "\(imported.text)")
            #expect(
                try await TestStack.eventually { try await s.loan.get("/v1/loans/\(queued)").string("status") == "active" },
                "the deposit releases the queued loan")

            // Every change so far (this suite's and the others', on the shared stack) kept the totals exact.
            #expect(try await s.loan.post("/v1/fund-pool/rebuild", "{}", as: .citizen(TestStack.newResidentID(birth: "1990-01-01", male: true))).status == 403)
            let rebuilt = try await s.loan.post("/v1/fund-pool/rebuild", "{}")
            #expect(rebuilt.status == 200 && rebuilt["drift"] as? Bool == false, "\(rebuilt.text)")
            try await Self.setPool(s, assets: 100_000_000_000)
        }
    }

    @Test("overdue instalments cross the threshold: a bad-credit record blocks enrolment and loans; repaying clears the arrears")
    func overdueToBadCredit() async throws {
        let dial = BusinessClock.Dial(TestStack.today)
        try await withServices(clock: BusinessClock(dial: dial)) { s in
            try await Self.setPool(s, assets: 100_000_000_000)
            let person = TestStack.newResidentID(birth: "1996-06-06", male: true)
            let account = try await Self.contributor(s, months: 6, person: person)
            let approved = try await s.loan.post("/v1/loan-applications", Self.application(account, requested: 10_000_000))
            let loanId = try #require(approved.string("loanId"), "\(approved.text)")
            let schedule = try #require(try await s.loan.get("/v1/loans/\(loanId)/schedule")["instalments"] as? [[String: Any]])
            let firstThree = schedule.prefix(3).reduce(Int64(0)) { $0 + (($1["paymentFen"] as? NSNumber)?.int64Value ?? 0) }
            let fourth = try #require((schedule[3]["paymentFen"] as? NSNumber)?.int64Value)

            // Nothing paid for three months: due 04-16, 05-16, 06-16, each overdue 30 days later.
            dial.set(BusinessDate("2026-07-17")!)
            let run = try await s.loan.post("/v1/jobs/overdue", #"{"asOf":"2026-07-17"}"#)
            #expect(run.status == 200, "\(run.text)")
            let loan = try await s.loan.get("/v1/loans/\(loanId)")
            // The fourth instalment (due 07-16) is due but not yet overdue.
            #expect(loan.int("overdueInstalments") == 3 && loan.int("arrearsFen") == firstThree + fourth, "\(loan.text)")
            let again = try await s.loan.post("/v1/jobs/overdue", #"{"asOf":"2026-07-17"}"#)
            #expect(again.int("overdueInstalments") == 0 && again.int("badCreditRecords") == 0, "idempotent")

            // Through the broker, the enrolment service's credit registry now blocks the person.
            #expect(
                try await TestStack.eventually {
                    try await s.enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: person)).string("code") == "bad_credit"
                }, "the bad-credit record reaches the credit registry")
            let blocked = try await s.loan.post("/v1/loan-applications", Self.application(account, requested: 1_000_000))
            #expect((blocked["reasons"] as? [String])?.contains("bad_credit") == true)

            // Settling the arrears clears the overdue state; replays are idempotent.
            let repay = #"{"amountFen":\#(firstThree),"source":"bank_transfer","reference":"bank-\#(loanId)"}"#
            let paid = try await s.loan.post("/v1/loans/\(loanId)/repayments", repay)
            #expect(paid.status == 201 && paid.int("arrearsFen") == fourth, "\(paid.text)")
            #expect(try await s.loan.post("/v1/loans/\(loanId)/repayments", repay).status == 200)
            let mismatch = try await s.loan.post("/v1/loans/\(loanId)/repayments", repay.replacingOccurrences(of: "\(firstThree)", with: "\(firstThree + 1)"))
            #expect(mismatch.status == 409)
            let cleared = try await s.loan.get("/v1/loans/\(loanId)")
            #expect(cleared.int("overdueInstalments") == 0 && cleared.int("arrearsFen") == fourth)

            // No overdue instalment is left: the record stops blocking 5 years after that day
            // (POLICY.md decisions), here and in the credit registry.
            let clearedEvents = try await TestStack.read(topic: Topic.loanEvents.name, count: 1, seconds: 60) {
                $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.badCreditCleared.rawValue
            }
            let clearance = try CloudEventCoding.decode(BadCreditCleared.self, from: try #require(clearedEvents.first, "bad-credit-cleared").value).data
            let clearedOn = BusinessDate("2026-07-17")!
            #expect(clearance.loanId == loanId && clearance.arrearsClearedOn == clearedOn && clearance.activeUntil == BusinessDate("2031-07-16")!)
            // The credit registry (which blocks enrolment) ends the record on the same day.
            #expect(
                try await TestStack.eventually {
                    try await TestStack.withDatabase(of: EnrolmentService.descriptor) { db in
                        var until: String?
                        for try await value in try await db.query(
                            "SELECT active_until::text FROM credit_records WHERE source = 'loan' AND reference = \(loanId)"
                        ).decode(String?.self) { until = value }
                        return until == "2031-07-16"
                    }
                }, "the registry's record ends 2031-07-16")
            #expect(try await s.enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: person)).string("code") == "bad_credit", "still blocks today")
            dial.set(BusinessDate("2031-07-16")!)
            #expect(
                (try await s.loan.get("/v1/accounts/\(account)/loan-quota")["reasons"] as? [String])?.contains("bad_credit") == true,
                "the last day it blocks")
            dial.set(BusinessDate("2031-07-17")!)
            #expect(
                (try await s.loan.get("/v1/accounts/\(account)/loan-quota")["reasons"] as? [String])?.contains("bad_credit") == false,
                "five years on it no longer blocks")
            dial.set(BusinessDate("2026-07-17")!)

            // Early repayment of everything left settles the loan.
            let outstanding = try #require(cleared.int("payoffFen"))
            let tooMuch = try await s.loan.post(
                "/v1/loans/\(loanId)/repayments", #"{"amountFen":\#(outstanding + 1),"source":"bank_transfer","reference":"x-\#(loanId)"}"#)
            #expect(tooMuch.status == 422 && tooMuch.string("code") == "exceeds_amount_owed")
            let settled = try await s.loan.post(
                "/v1/loans/\(loanId)/repayments", #"{"amountFen":\#(outstanding),"source":"bank_transfer","reference":"final-\#(loanId)"}"#)
            #expect(settled.string("status") == "settled" && settled.int("outstandingFen") == 0, "\(settled.text)")
            let events = try await TestStack.read(topic: Topic.loanEvents.name, count: 6) { $0.keyString == account }
            let types = Set(events.compactMap { try? CloudEventCoding.header(from: $0.value).type })
            #expect(
                types.isSuperset(of: [
                    EventType.instalmentOverdue.rawValue, EventType.badCreditRecorded.rawValue, EventType.loanRepaid.rawValue,
                    EventType.loanSettled.rawValue,
                ]))
        }
    }

    @Test("repaying from the HPF balance is a debit saga through the ledger: applied when debited, refused when the balance is short")
    func repayFromBalance() async throws {
        try await withServices { s in
            try await Self.setPool(s, assets: 100_000_000_000)
            let account = try await Self.contributor(s, months: 6)
            let approved = try await s.loan.post("/v1/loan-applications", Self.application(account, requested: 10_000_000))
            let loanId = try #require(approved.string("loanId"), "\(approved.text)")

            let body = #"{"amountFen":500000,"source":"hpf_balance","reference":"hpf-\#(loanId)"}"#
            let pending = try await s.loan.post("/v1/loans/\(loanId)/repayments", body)
            #expect(pending.status == 202 && pending.string("status") == "pending", "\(pending.text)")
            #expect(
                try await TestStack.eventually { try await s.loan.get("/v1/loans/\(loanId)").int("outstandingFen") == 9_500_000 },
                "nothing is due yet: the debit repays principal early")
            let balance = try await s.ledger.get("/v1/accounts/\(account)/balance")
            #expect(balance.int("withdrawnFen") == 500_000)
            let entries = (try await s.ledger.get("/v1/accounts/\(account)/ledger")["entries"] as? [[String: Any]]) ?? []
            #expect(entries.contains { $0["kind"] as? String == "loan_repayment" && ($0["amountFen"] as? NSNumber)?.int64Value == -500_000 })
            #expect(try await s.loan.post("/v1/loans/\(loanId)/repayments", body).status == 200, "a replay")

            let short = #"{"amountFen":2000000,"source":"hpf_balance","reference":"hpf2-\#(loanId)"}"#
            #expect(try await s.loan.post("/v1/loans/\(loanId)/repayments", short).status == 202)
            #expect(
                try await TestStack.eventually {
                    try await s.loan.post("/v1/loans/\(loanId)/repayments", short).string("status") == "refused"
                }, "the ledger refuses what the balance cannot cover")
            #expect(try await s.loan.get("/v1/loans/\(loanId)").int("outstandingFen") == 9_500_000)
        }
    }

    @Test("a bad-credit record imported into the credit registry reaches the loan service and refuses the loan")
    func importedBadCredit() async throws {
        try await withServices { s in
            let person = TestStack.newResidentID(birth: "1994-04-04", male: false)
            let account = try await Self.contributor(s, months: 6, person: person)
            #expect(try await s.loan.get("/v1/accounts/\(account)/loan-quota").json["eligible"] as? Bool == true)
            let record =
                #"{"records":[{"idNumber":"\#(person)","source":"court","reference":"\#(TestStack.unique("zx"))","reason":"judgment debtor","activeFrom":"2026-01-01"}]}"#
            let imported = try await s.enrolment.post("/v1/credit-records", record)
            #expect(imported.int("imported") == 1, "\(imported.text)")
            #expect(
                try await TestStack.eventually {
                    (try await s.loan.get("/v1/accounts/\(account)/loan-quota").json["reasons"] as? [String])?.contains("bad_credit") == true
                }, "the credit-record-added event reaches the loan service")
        }
    }
}
