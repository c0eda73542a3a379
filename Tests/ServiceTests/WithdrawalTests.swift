import Contracts
import Contribution
import Enrolment
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Policy
import ServiceRuntime
import Subsidy
import Testing
import Withdrawal

/// The withdrawal saga end to end with the real enrolment, ledger and withdrawal applications
/// on the real Postgres and broker. The tests play the payment channel: they confirm payouts
/// over HTTP as a bank would.
@Suite("Withdrawals: rules and the saga with the ledger")
struct WithdrawalTests {

    struct Clients: Sendable {
        let enrolment: JSONClient
        let ledger: JSONClient
        let withdrawal: JSONClient
    }

    func withServices(
        withdrawalClock: BusinessClock = TestStack.clock, withSubsidy: Bool = false,
        _ body: @escaping @Sendable (Clients) async throws -> Void
    ) async throws {
        let subsidy = withSubsidy ? [try StackService(SubsidyService.self)] : []
        try await TestStack.withServices(
            subsidy + [
                .init(EnrolmentService.self), .init(ContributionService.self),
                .init(WithdrawalService.self, clock: withdrawalClock),
            ]
        ) {
            try await body(Clients(enrolment: $0.enrolment, ledger: $0.ledger, withdrawal: $0.withdrawal))
        }
    }

    /// Enrols a person (a random birth date keeps ID numbers apart), waits until the ledger and
    /// the withdrawal service know the account, and deposits `deposits` (paid before the scheme,
    /// so no subsidy joins the balance).
    static func openAccount(_ s: Clients, residence: String = "rural", birth: String? = nil, deposits: [Int] = []) async throws -> String {
        try await openAccountOf(s, residence: residence, birth: birth, deposits: deposits).account
    }

    /// The same, with the holder's resident ID number.
    static func openAccountOf(
        _ s: Clients, residence: String = "rural", birth: String? = nil,
        deposits: [Int] = []
    ) async throws -> (account: String, person: String) {
        let date = birth ?? String(format: "19%02d-%02d-%02d", Int.random(in: 75...99), Int.random(in: 1...12), Int.random(in: 1...28))
        let person = TestStack.newResidentID(birth: date, male: Bool.random())
        let account = try await TestStack.enrol(s.enrolment, s.ledger, Bodies.enrolment(idNumber: person, residence: residence))
        #expect(try await TestStack.eventually { try await s.withdrawal.get("/v1/accounts/\(account)/withdrawals").status == 200 })
        if !deposits.isEmpty {
            // Dated before the scheme, so no opening subsidy joins the balance.
            let history = deposits.enumerated().map { index, amount in
                (amountFen: amount, paidAt: index == 0 ? "2025-05-20T10:00:00+08:00" : "2025-05-2\(min(index, 9))T11:00:00+08:00")
            }
            let imported = try await s.ledger.post("/v1/imports/contributions", Bodies.history(account: account, history))
            #expect(imported.int("imported") == Int64(deposits.count), "\(imported.text)")
        }
        return (account, person)
    }

    static let payee = #"{"kind":"seller","name":"连云港房产有限公司","bankAccount":"6222020200112233445","bankName":"ICBC"}"#

    static func purchase(
        _ account: String, amountFen: Int, contract: String = TestStack.unique("GF"), priceFen: Int = 90_000_000,
        requestId: String? = nil
    ) -> String {
        let request = requestId.map { #","requestId":"\#($0)""# } ?? ""
        return
            #"{"accountNumber":"\#(account)","reason":"purchase","amountFen":\#(amountFen),"payee":\#(payee),"evidence":{"contractNumber":"\#(contract)","priceFen":\#(priceFen),"payeeBankAccount":"6222020200112233445"}\#(request)}"#
    }

    /// Waits until the withdrawal is in `stage` and returns its view.
    static func await(_ s: Clients, _ id: String, stage: String, seconds: Double = 90) async throws -> JSONClient.Reply {
        var last: JSONClient.Reply?
        _ = try await TestStack.eventually(seconds: seconds) {
            last = try await s.withdrawal.get("/v1/withdrawals/\(id)")
            return last?.string("stage") == stage
        }
        let reply = try #require(last)
        #expect(reply.string("stage") == stage, "\(reply.text)")
        return reply
    }

    /// The payment channel's confirmation of a payout.
    static func confirm(_ s: Clients, payout: String, outcome: String, channelRef: String = "bank-ref-1", failureCode: String? = nil) async throws
        -> JSONClient.Reply
    {
        let code = failureCode.map { #","failureCode":"\#($0)""# } ?? ""
        return try await s.withdrawal.post(
            "/v1/payouts/\(payout)/confirmation",
            #"{"outcome":"\#(outcome)","channelRef":"\#(channelRef)"\#(code)}"#)
    }

    /// The balance less any subsidy: other tests' annual-subsidy runs (with later business
    /// dates) may credit these accounts' lots, which is not what these tests are about.
    static func balance(_ s: Clients, _ account: String) async throws -> Int64? {
        let reply = try await s.ledger.get("/v1/accounts/\(account)/balance")
        guard let balance = reply.int("balanceFen") else { return nil }
        return balance - (reply.int("subsidyFen") ?? 0)
    }

    @Test("each reason's rules: refusals with rule codes, missing evidence is a 400, nothing is recorded")
    func rules() async throws {
        try await withServices { s in
            // Balances that cover the withdrawals on the shared contract below: a withdrawal the ledger
            // refuses stops counting against the contract, and whether that refusal arrived before the
            // next check was a race.
            let urban = try await Self.openAccount(s, residence: "urban", deposits: [100_000])
            let rural = try await Self.openAccount(s, deposits: [100_000])
            let w = s.withdrawal

            let missing = try await w.post(
                "/v1/withdrawals", #"{"accountNumber":"\#(urban)","reason":"purchase","amountFen":100,"payee":\#(Self.payee),"evidence":{}}"#)
            #expect(missing.status == 400 && missing.string("code") == "malformed_request")
            #expect(missing.text.contains("evidence.contractNumber") && missing.text.contains("evidence.priceFen"))
            let badReason = try await w.post(
                "/v1/withdrawals", #"{"accountNumber":"\#(urban)","reason":"holiday","amountFen":100,"payee":\#(Self.payee),"evidence":{}}"#)
            #expect(badReason.status == 400)
            let badPayee = try await w.post(
                "/v1/withdrawals", Self.purchase(urban, amountFen: 100).replacingOccurrences(of: "6222020200112233445", with: "12ab"))
            #expect(badPayee.status == 400 && badPayee.text.contains("payee.bankAccount"))
            let unknown = try await w.post("/v1/withdrawals", Self.purchase("3207009999999999", amountFen: 100))
            #expect(unknown.status == 404 && unknown.string("code") == "unknown_account")

            func refused(_ body: String, _ code: String) async throws {
                let reply = try await w.post("/v1/withdrawals", body)
                #expect(reply.status == 422 && reply.string("code") == code, "\(code): \(reply.text)")
                #expect(reply.contentType == "application/problem+json")
            }
            try await refused(Self.purchase(urban, amountFen: 100_001, priceFen: 100_000), "exceeds_house_price")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"self_build","amountFen":100,"payee":\#(Self.payee),"evidence":{"permitNumber":"ZJD-1","costFen":5000000}}"#,
                "not_rural_resident")
            try await refused(
                #"{"accountNumber":"\#(rural)","reason":"self_build","amountFen":5000001,"payee":\#(Self.payee),"evidence":{"permitNumber":"\#(TestStack.unique("ZJD"))","costFen":5000000}}"#,
                "exceeds_build_cost")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"repayment","amountFen":200001,"payee":\#(Self.payee),"evidence":{"loanType":"commercial","loanContractNumber":"L-1","outstandingFen":200000}}"#,
                "exceeds_outstanding_loan")
            // §8: the monthly cap (1,500 yuan) binds below a 2,000-yuan rent; the rent binds below the cap.
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"rent","amountFen":300001,"payee":\#(Self.payee),"evidence":{"leaseContractNumber":"Z-1","monthlyRentFen":200000,"months":2}}"#,
                "exceeds_rent_cap")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"rent","amountFen":100001,"payee":\#(Self.payee),"evidence":{"leaseContractNumber":"Z-1","monthlyRentFen":100000,"months":1}}"#,
                "exceeds_rent")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"rent","amountFen":1000,"payee":\#(Self.payee),"evidence":{"leaseContractNumber":"Z-1","monthlyRentFen":100000,"months":13}}"#,
                "rent_months_out_of_range")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"closure","payee":\#(Self.payee),"evidence":{"closureReason":"transfer"}}"#,
                "use_regional_transfer")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"closure","payee":\#(Self.payee),"evidence":{"closureReason":"retirement"}}"#,
                "not_yet_retired")
            // The payee: a counterparty only to the account its document names, the holder only to the registered account.
            try await refused(
                Self.purchase(urban, amountFen: 100).replacingOccurrences(of: #","payeeBankAccount":"6222020200112233445""#, with: ""),
                "payee_not_in_evidence")
            try await refused(
                Self.purchase(urban, amountFen: 100).replacingOccurrences(of: #""kind":"seller""#, with: #""kind":"landlord""#),
                "payee_kind_not_allowed")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"closure","payee":{"kind":"holder","name":"张伟","bankAccount":"6222999999999999"},"evidence":{"closureReason":"leaving_city"}}"#,
                "payee_not_registered_account")
            try await refused(
                #"{"accountNumber":"\#(urban)","reason":"closure","payee":{"kind":"heir","name":"张三","bankAccount":"6222000011112222"},"evidence":{"closureReason":"leaving_city"}}"#,
                "payee_kind_not_allowed")
            let closureWithAmount = try await w.post(
                "/v1/withdrawals",
                #"{"accountNumber":"\#(urban)","reason":"closure","amountFen":5,"payee":\#(Self.payee),"evidence":{"closureReason":"leaving_city"}}"#)
            #expect(closureWithAmount.status == 400 && closureWithAmount.text.contains("amountFen"))

            // One purchase contract: a couple may both draw on it up to the price, one account only once.
            let contract = TestStack.unique("GF")
            let first = try await w.post("/v1/withdrawals", Self.purchase(urban, amountFen: 60_000, contract: contract, priceFen: 100_000))
            #expect(first.status == 202 && first.string("status") == "pending", "\(first.text)")
            try await refused(Self.purchase(urban, amountFen: 10_000, contract: contract, priceFen: 100_000), "contract_already_used")
            try await refused(Self.purchase(rural, amountFen: 40_001, contract: contract, priceFen: 100_000), "exceeds_house_price")
            let spouse = try await w.post("/v1/withdrawals", Self.purchase(rural, amountFen: 40_000, contract: contract, priceFen: 100_000))
            #expect(spouse.status == 202)

            let list = try await w.get("/v1/accounts/\(urban)/withdrawals")
            #expect((list["withdrawals"] as? [[String: Any]])?.count == 1, "refusals record nothing")
            #expect(try await w.get("/v1/withdrawals/\(UUID())").status == 404)
            #expect(try await w.get("/v1/accounts/3207009999999999/withdrawals").status == 404)
        }
    }

    @Test("a payout the channel does not confirm is marked unconfirmed after the set days, listed for staff, and paid once when the answer comes")
    func unconfirmedPayout() async throws {
        let dial = BusinessClock.Dial(TestStack.today)
        try await withServices(withdrawalClock: BusinessClock(dial: dial)) { s in
            let account = try await Self.openAccount(s, deposits: [50_000])
            let accepted = try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 20_000))
            let id = try #require(accepted.string("withdrawalId"), "\(accepted.text)")
            let payout = try #require(try await Self.await(s, id, stage: "paying").string("payoutId"))
            // The instruction's day is the business date of whichever withdrawal instance applied the
            // debit first, and the test stack runs instances on other clocks (dials days or months on):
            // pin it to this test's date, as one city's suite would have it (a later stamp left the
            // payout unmarked at 3 days in a full run).
            try await TestStack.withDatabase(of: WithdrawalService.descriptor, asOwner: true) { db in
                _ = try await db.query(
                    """
                    UPDATE withdrawals SET payout_requested_on = \(TestStack.today.description)::date WHERE payout_id = \(UUID(uuidString: payout))
                    """)
            }

            func listed() async throws -> [String: Any]? {
                var after: String?
                repeat {
                    let page = try await s.withdrawal.get("/v1/payouts/unconfirmed?limit=500" + (after.map { "&after=\($0)" } ?? ""))
                    #expect(page.status == 200, "\(page.text)")
                    let items = page["payouts"] as? [[String: Any]] ?? []
                    if let mine = items.first(where: { $0["payoutId"] as? String == payout }) { return mine }
                    after = page.string("nextAfter")
                } while after != nil
                return nil
            }
            // Two days without an answer: not yet (the parameter is 3 days).
            dial.set(TestStack.today.adding(days: 2))
            #expect(try await s.withdrawal.post("/v1/jobs/unconfirmed-payouts", #"{"asOf":"\#(TestStack.today.adding(days: 2))"}"#).status == 200)
            #expect(try await listed() == nil)
            // Three days: marked and listed for staff (fund officers and auditors), never sent again.
            dial.set(TestStack.today.adding(days: 3))
            let run = try await s.withdrawal.post("/v1/jobs/unconfirmed-payouts", #"{"asOf":"\#(TestStack.today.adding(days: 3))"}"#)
            #expect(run.status == 200 && (run.int("marked") ?? 0) >= 1, "\(run.text)")
            let item = try #require(try await listed(), "the payout is listed")
            #expect(
                item["withdrawalId"] as? String == id && (item["amountFen"] as? NSNumber)?.int64Value == 20_000
                    && item["payoutRequestedOn"] as? String == TestStack.today.description
                    && item["unconfirmedSince"] as? String == TestStack.today.adding(days: 3).description, "\(item)")
            #expect(try await s.withdrawal.get("/v1/payouts/unconfirmed", as: .staff([.auditor], id: TestStack.unique("auditor"))).status == 200)
            let citizen = try await s.withdrawal.get("/v1/payouts/unconfirmed", as: .citizen(TestStack.newResidentID(birth: "1990-01-01", male: true)))
            #expect(citizen.status == 403)
            #expect(try await s.withdrawal.get("/v1/payouts/unconfirmed?after=nope").status == 400)
            let again = try await s.withdrawal.post("/v1/jobs/unconfirmed-payouts", #"{"asOf":"\#(TestStack.today.adding(days: 3))"}"#)
            #expect(again.status == 200, "\(again.text)")
            let steps = (try await s.withdrawal.get("/v1/withdrawals/\(id)")["steps"] as? [[String: Any]]) ?? []
            #expect(steps.filter { $0["code"] as? String == "payout_unconfirmed" }.count == 1, "marked once: \(steps)")

            // The late answer settles it as usual: paid once, and off the list.
            let confirmed = try await Self.confirm(s, payout: payout, outcome: "paid", channelRef: "late-\(payout)")
            #expect(confirmed.status == 200 && confirmed.string("status") == "paid", "\(confirmed.text)")
            #expect(try await listed() == nil)
            #expect(try await Self.balance(s, account) == 30_000, "debited once")
        }
    }

    @Test("happy path: debited newest lots first, paid out, replayed confirmation changes nothing")
    func paid() async throws {
        try await withServices { s in
            let account = try await Self.openAccount(s, deposits: [50_000, 50_000])
            let requestId = TestStack.unique("req")
            let body = Self.purchase(account, amountFen: 30_000, requestId: requestId)
            let accepted = try await s.withdrawal.post("/v1/withdrawals", body)
            #expect(accepted.status == 202 && accepted.string("status") == "pending", "\(accepted.text)")
            #expect(accepted.text.contains("***************3445") && !accepted.text.contains("6222020200112233445"), "payee account masked")
            let id = try #require(accepted.string("withdrawalId"))
            let replay = try await s.withdrawal.post("/v1/withdrawals", body)
            #expect(replay.status == 200 && replay.string("withdrawalId") == id)
            let changed = try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 30_001, requestId: requestId))
            #expect(changed.status == 409 && changed.string("code") == "duplicate_request_mismatch")

            let paying = try await Self.await(s, id, stage: "paying")
            #expect(paying.string("status") == "pending" && paying.int("amountFen") == 30_000)
            #expect(try await Self.balance(s, account) == 70_000, "debited before the payout")
            let payout = try #require(paying.string("payoutId"))

            let confirmed = try await Self.confirm(s, payout: payout, outcome: "paid", channelRef: "icbc-77")
            #expect(confirmed.status == 200 && confirmed.string("status") == "paid", "\(confirmed.text)")
            let again = try await Self.confirm(s, payout: payout, outcome: "paid", channelRef: "icbc-77")
            #expect(again.status == 200 && again.string("status") == "paid")
            let contradicting = try await Self.confirm(s, payout: payout, outcome: "failed", channelRef: "icbc-77")
            #expect(contradicting.status == 409 && contradicting.string("code") == "payout_already_confirmed")
            let anonymous = try await s.withdrawal.post("/v1/payouts/\(payout)/confirmation", #"{"outcome":"paid","channelRef":"x"}"#, as: .anonymous)
            #expect(anonymous.status == 401)
            #expect(try await Self.confirm(s, payout: UUID().uuidString, outcome: "paid").status == 404)

            let view = try await s.withdrawal.get("/v1/withdrawals/\(id)")
            // (Another test's staff run of the unconfirmed-payouts job, dated days later on the shared
            // stack, may have marked this payout too: that step is not part of the saga.)
            #expect(
                (view["steps"] as? [[String: Any]])?.filter { $0["code"] as? String != "payout_unconfirmed" }.map { $0["stage"] as? String }
                    == ["requested", "paying", "paid"])
            #expect(try await Self.balance(s, account) == 70_000, "the replayed confirmation moved nothing")
            let entries = (try await s.ledger.get("/v1/accounts/\(account)/ledger")["entries"] as? [[String: Any]]) ?? []
            #expect(entries.filter { $0["kind"] as? String == "withdrawal" }.map { ($0["amountFen"] as? NSNumber)?.int64Value } == [-30_000])
            #expect(try await s.ledger.get("/v1/accounts/\(account)/balance").int("withdrawnFen") == 30_000)

            // The ledger says which lots the debit took: the newest contribution first.
            let debits = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1) {
                $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.debitPosted.rawValue
            }
            let debit = try #require(try debits.first.map { try CloudEventCoding.decode(DebitPosted.self, from: $0.value).data })
            // (An annual subsidy from another test's run may have joined the balance: it is not a lot.)
            #expect(debit.amountFen == 30_000 && debit.balanceAfterFen >= 70_000 && debit.debitId == id)
            let lots = try #require(debit.consumedLots)
            #expect(lots.count == 1 && lots.first?.amountFen == 30_000)
            let received = try await TestStack.read(topic: Topic.contributionEvents.name, count: 2) {
                $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.contributionReceived.rawValue
            }.map { try CloudEventCoding.decode(ContributionReceived.self, from: $0.value).data }
            #expect(lots.first?.lotId == received.max { $0.paidOn < $1.paidOn }?.contributionId)

            let paidEvents = try await TestStack.read(topic: Topic.withdrawalEvents.name, count: 1) {
                $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.withdrawalPaid.rawValue
            }
            #expect(TestStack.distinctEvents(paidEvents) == 1, "one withdrawal-paid (copies of a record share its id)")

            // The payee's bank account and name are sealed at rest, masked on the analytics topic,
            // and in full only on the channel's own topic.
            let stored = try await TestStack.withDatabase(of: WithdrawalService.descriptor) { db -> [String] in
                var values: [String] = []
                for try await (payee, evidence) in try await db.query(
                    "SELECT payee::text, evidence::text FROM withdrawals WHERE withdrawal_id = \(UUID(uuidString: id)!)"
                ).decode((String, String).self) {
                    values += [payee, evidence]
                }
                return values
            }
            #expect(
                stored.count == 2 && stored.allSatisfy { $0.hasPrefix("\"pd1:") && !$0.contains("6222020200112233445") && !$0.contains("连云港") },
                "\(stored)")
            @Sendable func ofType(_ type: EventType) -> (KafkaMessage) -> Bool {
                { $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == type.rawValue }
            }
            let analytics = try await TestStack.read(topic: Topic.withdrawalEvents.name, count: 1, where: ofType(.payoutRequested))
            let masked = try #require(try analytics.first.map { try CloudEventCoding.decode(PayoutRequested.self, from: $0.value).data })
            #expect(masked.payee.bankAccount == "***************3445" && masked.payee.name == "连********" && masked.payoutId == payout)
            let instructions = try await TestStack.read(topic: Topic.payoutInstructions.name, count: 1, where: ofType(.payoutInstruction))
            let instruction = try #require(try instructions.first.map { try CloudEventCoding.decode(PayoutRequested.self, from: $0.value).data })
            #expect(instruction.payee.bankAccount == "6222020200112233445" && instruction.payee.name == "连云港房产有限公司" && instruction.amountFen == 30_000)
            #expect(EventKeyring(entries: EventKeyring.development).rejection(of: try #require(instructions.first)) == nil, "signed by the withdrawal service")
        }
    }

    @Test("compensation: a failed payout is reversed by the ledger and the withdrawal ends rejected")
    func compensated() async throws {
        try await withServices { s in
            let account = try await Self.openAccount(s, deposits: [80_000])
            let accepted = try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 50_000))
            let id = try #require(accepted.string("withdrawalId"))
            let payout = try #require(try await Self.await(s, id, stage: "paying").string("payoutId"))
            let failed = try await Self.confirm(s, payout: payout, outcome: "failed", failureCode: "payee_account_closed")
            #expect(failed.status == 200 && failed.string("stage") == "reversing", "\(failed.text)")
            let rejected = try await Self.await(s, id, stage: "rejected")
            #expect(rejected.string("status") == "rejected" && rejected.string("code") == "payee_account_closed")
            #expect(try await Self.balance(s, account) == 80_000, "the reversal gave the money back")
            let entries = (try await s.ledger.get("/v1/accounts/\(account)/ledger")["entries"] as? [[String: Any]]) ?? []
            // (An annual subsidy from another test's run may interleave: it is not part of this saga.)
            #expect(entries.compactMap { $0["kind"] as? String }.filter { $0 != "subsidy" } == ["contribution", "withdrawal", "reversal"])
            let balance = try await s.ledger.get("/v1/accounts/\(account)/balance")
            #expect(balance.int("withdrawnFen") == 0)
            // Replaying the failure changes nothing more.
            #expect(try await Self.confirm(s, payout: payout, outcome: "failed", failureCode: "payee_account_closed").status == 200)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await Self.balance(s, account) == 80_000)
            let reversed = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1) {
                $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.debitReversed.rawValue
            }.map { try CloudEventCoding.decode(DebitReversed.self, from: $0.value).data }
            #expect(reversed.first?.restoredLots.map(\.amountFen) == [50_000])

            let short = try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 8_000_000))
            let shortId = try #require(short.string("withdrawalId"))
            let refused = try await Self.await(s, shortId, stage: "rejected")
            #expect(refused.string("code") == "insufficient_balance" && refused.string("status") == "rejected")
        }
    }

    @Test("the subsidy lots follow the ledger: a paid debit takes the newest lots, a reversed one gives them back")
    func lotsFollowTheLedger() async throws {
        try await withServices(withSubsidy: true) { s in
            let account = try await Self.openAccount(s, deposits: [40_000, 30_000, 20_000])
            func remaining() async throws -> [Int64] {
                try await TestStack.withDatabase(of: SubsidyService.descriptor) { db in
                    var lots: [Int64] = []
                    for try await left in try await db.query(
                        "SELECT remaining_fen FROM lots WHERE account_number = \(account) ORDER BY started_on, sequence"
                    ).decode(Int64.self) { lots.append(left) }
                    return lots
                }
            }
            #expect(try await TestStack.eventually { try await remaining().count == 3 })
            let failing = try #require(try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 45_000)).string("withdrawalId"))
            #expect(try await TestStack.eventually { try await remaining() == [40_000, 5_000, 0] }, "newest first: 200.00 then 250.00 of 300.00")
            let payout = try #require(try await Self.await(s, failing, stage: "paying").string("payoutId"))
            _ = try await Self.confirm(s, payout: payout, outcome: "failed")
            #expect(try await TestStack.eventually { try await remaining() == [40_000, 30_000, 20_000] }, "the reversal restores the lots")
            let paid = try #require(try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 25_000)).string("withdrawalId"))
            let payout2 = try #require(try await Self.await(s, paid, stage: "paying").string("payoutId"))
            _ = try await Self.confirm(s, payout: payout2, outcome: "paid")
            #expect(try await TestStack.eventually { try await remaining() == [40_000, 25_000, 0] })
        }
    }

    @Test("the same request sent ten times at once makes one withdrawal; every answer names it")
    func racingReplays() async throws {
        try await withServices { s in
            let account = try await Self.openAccount(s, deposits: [20_000])
            let body = Self.purchase(account, amountFen: 1_000, requestId: TestStack.unique("race"))
            let answers = try await withThrowingTaskGroup(of: JSONClient.Reply.self) { group in
                for _ in 0..<10 { group.addTask { try await s.withdrawal.post("/v1/withdrawals", body) } }
                return try await group.reduce(into: [JSONClient.Reply]()) { $0.append($1) }
            }
            #expect(answers.filter { $0.status == 202 }.count == 1 && answers.filter { $0.status == 200 }.count == 9, "\(answers.map(\.status))")
            let ids = Set(answers.compactMap { $0.string("withdrawalId") })
            #expect(ids.count == 1)
            let listed = try #require(try await s.withdrawal.get("/v1/accounts/\(account)/withdrawals")["withdrawals"] as? [[String: Any]])
            #expect(listed.count == 1)
        }
    }

    @Test("50 concurrent withdrawals against a balance covering exactly 7: 7 paid, 43 refused, never below zero")
    func concurrentWithdrawals() async throws {
        try await withServices { s in
            let account = try await Self.openAccount(s, deposits: [75_000])
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 10_000)).string("withdrawalId") }
                }
                return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
            #expect(ids.count == 50)
            var views: [JSONClient.Reply] = []
            _ = try await TestStack.eventually(seconds: 60) {
                views = try await ids.asyncMap { try await s.withdrawal.get("/v1/withdrawals/\($0)") }
                return views.allSatisfy { $0.string("stage") == "paying" || $0.string("stage") == "rejected" }
            }
            let paying = views.filter { $0.string("stage") == "paying" }
            #expect(paying.count == 7)
            #expect(views.filter { $0.string("code") == "insufficient_balance" }.count == 43)
            for view in paying {
                let payout = try #require(view.string("payoutId"))
                #expect(try await Self.confirm(s, payout: payout, outcome: "paid", channelRef: "ref-\(payout)").status == 200)
            }
            let finals = try await ids.asyncMap { try await s.withdrawal.get("/v1/withdrawals/\($0)").string("status") }
            #expect(finals.filter { $0 == "paid" }.count == 7 && finals.filter { $0 == "rejected" }.count == 43)
            #expect(try await Self.balance(s, account) == 5_000)
            let entries = (try await s.ledger.get("/v1/accounts/\(account)/ledger?limit=500")["entries"] as? [[String: Any]]) ?? []
            #expect(entries.allSatisfy { (($0["balanceAfterFen"] as? NSNumber)?.int64Value ?? -1) >= 0 })
            #expect(entries.filter { $0["kind"] as? String == "withdrawal" }.count == 7)
        }
    }

    @Test("closure: the whole balance is paid and the account closes everywhere")
    func closure() async throws {
        try await withServices { s in
            let (account, person) = try await Self.openAccountOf(s, deposits: [30_000, 12_345])
            let accepted = try await s.withdrawal.post(
                "/v1/withdrawals",
                #"{"accountNumber":"\#(account)","reason":"closure","payee":{"kind":"holder","name":"张伟","bankAccount":"6222000011112222"},"evidence":{"closureReason":"leaving_city","newCity":"上海"}}"#
            )
            #expect(accepted.status == 202, "\(accepted.text)")
            let id = try #require(accepted.string("withdrawalId"))
            let paying = try await Self.await(s, id, stage: "paying")
            // The whole balance: the contributions (plus any subsidy another test's annual run credited).
            let whole = try #require(paying.int("amountFen"))
            #expect(whole >= 42_345)
            // While the closure is being paid the account takes no more money.
            let late = try await s.ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 20_000, txn: TestStack.unique("wx")))
            #expect(late.status == 422 && late.string("code") == "account_not_active")
            #expect(try await Self.confirm(s, payout: try #require(paying.string("payoutId")), outcome: "paid").status == 200)
            let closed = try await s.ledger.get("/v1/accounts/\(account)/balance")
            #expect(closed.int("balanceFen") == 0 && closed.int("withdrawnFen") == whole)
            #expect(
                try await TestStack.eventually {
                    try await s.withdrawal.get("/v1/accounts/\(account)/withdrawals").string("accountStatus") == "closed"
                }, "the withdrawal service learns of the closure from the ledger's event")
            let again = try await s.withdrawal.post("/v1/withdrawals", Self.purchase(account, amountFen: 100))
            #expect(again.status == 422 && again.string("code") == "account_not_active")
            // Enrolment follows the ledger: the account shows closed, takes no agreement change, and the person may enrol anew.
            var shown: JSONClient.Reply?
            #expect(
                try await TestStack.eventually {
                    shown = try await s.enrolment.get("/v1/accounts/\(account)")
                    return shown?.string("status") == "closed"
                }, "enrolment learns of the closure: \(shown?.text ?? "")")
            #expect(shown?.string("closureReason") == "leaving_city" && shown?.string("closedOn") != nil)
            let change = try await s.enrolment.put("/v1/accounts/\(account)/agreement", #"{"schedule":"monthly","amountFen":30000,"channel":"wechat"}"#)
            #expect(change.status == 422 && change.string("code") == "account_not_active", "\(change.text)")
            let anew = try await s.enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: person))
            #expect(anew.status == 201 && anew.string("accountNumber") != account, "\(anew.text)")
            let twice = try await s.enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: person))
            #expect(twice.status == 409 && twice.string("code") == "already_enrolled", "one active account per person")
        }
    }

    @Test("a restart of the ledger and of the withdrawal service mid-saga loses nothing")
    func restartMidSaga() async throws {
        let enrolmentConfig = TestStack.config(EnrolmentService.descriptor)
        let ledgerConfig = TestStack.config(ContributionService.descriptor)
        let withdrawalConfig = TestStack.config(WithdrawalService.descriptor)
        @Sendable func ledgerApp() throws -> some ApplicationProtocol { try ContributionService.buildApplication(config: ledgerConfig, clock: TestStack.clock) }
        @Sendable func withdrawalApp() throws -> some ApplicationProtocol {
            try WithdrawalService.buildApplication(config: withdrawalConfig, clock: TestStack.clock)
        }
        let enrolment = try EnrolmentService.buildApplication(config: enrolmentConfig, clock: TestStack.clock)
        try await enrolment.test(.live) { e in
            let enrol = JSONClient(client: e)
            // 1. Both up: an account with money.
            let account: String = try await ledgerApp().test(.live) { c in
                try await withdrawalApp().test(.live) { w in
                    try await Self.openAccount(Clients(enrolment: enrol, ledger: JSONClient(client: c), withdrawal: JSONClient(client: w)), deposits: [60_000])
                }
            }
            // 2. The ledger is down: the request is accepted and waits; then the withdrawal service stops too.
            let id: String = try await withdrawalApp().test(.live) { w in
                let reply = try await JSONClient(client: w).post("/v1/withdrawals", Self.purchase(account, amountFen: 25_000))
                #expect(reply.status == 202)
                return try #require(reply.string("withdrawalId"))
            }
            // 3. The ledger comes back alone and debits from the event that waited on the topic.
            try await ledgerApp().test(.live) { c in
                let ledger = JSONClient(client: c)
                #expect(try await TestStack.eventually { try await ledger.get("/v1/accounts/\(account)/balance").int("withdrawnFen") == 25_000 })
                // 4. The withdrawal service comes back and carries the saga on to the payout.
                try await withdrawalApp().test(.live) { w in
                    let s = Clients(enrolment: enrol, ledger: ledger, withdrawal: JSONClient(client: w))
                    let paying = try await Self.await(s, id, stage: "paying")
                    #expect(try await Self.confirm(s, payout: try #require(paying.string("payoutId")), outcome: "paid").status == 200)
                    #expect(try await Self.await(s, id, stage: "paid").string("status") == "paid")
                    #expect(try await Self.balance(s, account) == 35_000)
                }
            }
        }
    }

    @Test("rent holds per calendar month across requests, leases and plans; repayments add up to the loan's outstanding amount")
    func limitsAcrossRequests() async throws {
        try await withServices { s in
            let account = try await Self.openAccount(s, deposits: [600_000])
            let holder = #"{"kind":"holder","name":"张伟","bankAccount":"6222000011112222"}"#
            func rent(_ lease: String, amountFen: Int, months: Int) -> String {
                #"{"accountNumber":"\#(account)","reason":"rent","amountFen":\#(amountFen),"payee":\#(holder),"evidence":{"leaseContractNumber":"\#(lease)","monthlyRentFen":20000,"months":\#(months)}}"#
            }
            // A year of rent at 200 yuan a month: every month of the year is now full.
            let year = try await s.withdrawal.post("/v1/withdrawals", rent(TestStack.unique("ZA"), amountFen: 240_000, months: 12))
            #expect(year.status == 202, "\(year.text)")
            // The same lease again, a new lease for one month, a plan from this month: each would go over.
            for body in [rent(TestStack.unique("ZA"), amountFen: 240_000, months: 12), rent(TestStack.unique("ZB"), amountFen: 1, months: 1)] {
                let again = try await s.withdrawal.post("/v1/withdrawals", body)
                #expect(again.status == 422 && again.string("code") == "exceeds_monthly_rent_limit", "\(again.text)")
                #expect(again.string("detail")?.contains("\(TestStack.today.yearMonth): 20000 fen already used") == true, "\(again.text)")
            }
            let landlord = #"{"kind":"landlord","name":"王芳","bankAccount":"6217000099998888"}"#
            func plan(from month: YearMonth) -> String {
                #"{"accountNumber":"\#(account)","payee":\#(landlord),"leaseContractNumber":"\#(TestStack.unique("ZC"))","monthlyRentFen":20000,"monthlyFen":20000,"months":1,"firstMonth":"\#(month)"}"#
            }
            let overlapping = try await s.withdrawal.post("/v1/rent-plans", plan(from: TestStack.today.yearMonth.adding(months: 11)))
            #expect(overlapping.status == 422 && overlapping.string("code") == "exceeds_monthly_rent_limit", "\(overlapping.text)")
            let after = try await s.withdrawal.post("/v1/rent-plans", plan(from: TestStack.today.yearMonth.adding(months: 12)))
            #expect(after.status == 201, "the month after the year is free: \(after.text)")

            // Two repayment withdrawals against one loan may not take more than it has outstanding.
            let loan = TestStack.unique("LN")
            func repay(_ amountFen: Int) -> String {
                #"{"accountNumber":"\#(account)","reason":"repayment","amountFen":\#(amountFen),"payee":\#(holder),"evidence":{"loanType":"commercial","loanContractNumber":"\#(loan)","outstandingFen":100000}}"#
            }
            let first = try await s.withdrawal.post("/v1/withdrawals", repay(60_000))
            #expect(first.status == 202, "\(first.text)")
            let second = try await s.withdrawal.post("/v1/withdrawals", repay(60_000))
            #expect(second.status == 422 && second.string("code") == "exceeds_outstanding_loan", "\(second.text)")
            let rest = try await s.withdrawal.post("/v1/withdrawals", repay(40_000))
            #expect(rest.status == 202, "what remains outstanding may still be drawn: \(rest.text)")
        }
    }

    @Test("a rent plan's request id: the same body again answers the same plan, another body under it is refused, one plan is made")
    func rentPlanRequestId() async throws {
        try await withServices { s in
            let account = try await Self.openAccount(s, deposits: [120_000])
            let landlord = #"{"kind":"landlord","name":"王芳","bankAccount":"6217000099998888"}"#
            let requestId = TestStack.unique("plan")
            let plan =
                #"{"accountNumber":"\#(account)","payee":\#(landlord),"leaseContractNumber":"\#(TestStack.unique("ZL"))","monthlyRentFen":180000,"monthlyFen":50000,"months":3,"requestId":"\#(requestId)"}"#
            let created = try await s.withdrawal.post("/v1/rent-plans", plan)
            #expect(created.status == 201, "\(created.text)")
            let replayed = try await s.withdrawal.post("/v1/rent-plans", plan)
            #expect(replayed.status == 200 && replayed.string("planId") == created.string("planId"), "\(replayed.text)")
            let otherBody = try await s.withdrawal.post("/v1/rent-plans", plan.replacingOccurrences(of: #""months":3"#, with: #""months":2"#))
            #expect(otherBody.status == 409 && otherBody.string("code") == "duplicate_request_mismatch", "\(otherBody.text)")
            let plans = try await TestStack.withDatabase(of: WithdrawalService.descriptor) { database -> Int in
                var count = 0
                for try await n in try await database.query("SELECT count(*)::int FROM rent_plans WHERE account_number = \(account)").decode(Int.self) {
                    count = n
                }
                return count
            }
            #expect(plans == 1)
        }
    }

    @Test("a rent plan pays three months, pauses when the balance is short and resumes after a deposit")
    func rentPlan() async throws {
        let dial = BusinessClock.Dial(BusinessDate("2026-03-16")!)
        try await withServices(withdrawalClock: BusinessClock(dial: dial)) { s in
            let account = try await Self.openAccount(s, deposits: [120_000])
            let landlord = #"{"kind":"landlord","name":"王芳","bankAccount":"6217000099998888"}"#
            let lease = TestStack.unique("ZL")
            let plan =
                #"{"accountNumber":"\#(account)","payee":\#(landlord),"leaseContractNumber":"\#(lease)","monthlyRentFen":180000,"monthlyFen":50000,"months":3}"#
            let tooMuch = try await s.withdrawal.post("/v1/rent-plans", plan.replacingOccurrences(of: "50000", with: "150001"))
            #expect(tooMuch.status == 422 && tooMuch.string("code") == "exceeds_rent_cap")
            let toSelf = try await s.withdrawal.post("/v1/rent-plans", plan.replacingOccurrences(of: "landlord", with: "holder"))
            #expect(toSelf.status == 400)
            let created = try await s.withdrawal.post("/v1/rent-plans", plan)
            #expect(created.status == 201, "\(created.text)")
            let planId = try #require(created.string("planId"))
            #expect(try await s.withdrawal.post("/v1/rent-plans", plan).string("code") == "lease_already_used")

            func payMonth(_ month: String) async throws {
                var monthView: [String: Any]?
                #expect(
                    try await TestStack.eventually {
                        let history = try await s.withdrawal.get("/v1/rent-plans/\(planId)")["history"] as? [[String: Any]] ?? []
                        monthView = history.last { $0["month"] as? String == month && $0["status"] as? String == "pending" }
                        guard let id = monthView?["withdrawalId"] as? String else { return false }
                        return try await s.withdrawal.get("/v1/withdrawals/\(id)").string("stage") == "paying"
                    }, "month \(month) is requested and debited")
                let id = try #require(monthView?["withdrawalId"] as? String)
                let payout = try #require(try await s.withdrawal.get("/v1/withdrawals/\(id)").string("payoutId"))
                #expect(try await Self.confirm(s, payout: payout, outcome: "paid", channelRef: "rent-\(month)").status == 200)
            }

            try await payMonth("2026-03")
            #expect(try await Self.balance(s, account) == 70_000)
            dial.set(BusinessDate("2026-04-16")!)
            let run = try await s.withdrawal.post("/v1/jobs/rent-payments", #"{"asOf":"2026-04-16"}"#)
            #expect(run.status == 200, "\(run.text)")
            try await payMonth("2026-04")
            #expect(try await Self.balance(s, account) == 20_000)

            dial.set(BusinessDate("2026-05-16")!)
            _ = try await s.withdrawal.post("/v1/jobs/rent-payments", #"{"asOf":"2026-05-16"}"#)
            #expect(
                try await TestStack.eventually {
                    let view = try await s.withdrawal.get("/v1/rent-plans/\(planId)")
                    return view.string("status") == "paused" && view.string("pausedCode") == "insufficient_balance"
                }, "the plan pauses when the balance cannot cover the month")
            #expect(try await Self.balance(s, account) == 20_000)

            let topUp = try await s.ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 40_000, txn: TestStack.unique("wx")))
            #expect(topUp.status == 201)
            #expect(
                try await TestStack.eventually { try await s.withdrawal.get("/v1/rent-plans/\(planId)").string("status") == "active" },
                "the deposit's ledger event resumes the plan")
            // The resuming instance requests the month at once; other test apps sharing this schema
            // keep an earlier business date, so the run makes sure (it is idempotent).
            _ = try await s.withdrawal.post("/v1/jobs/rent-payments", #"{"asOf":"2026-05-16"}"#)
            try await payMonth("2026-05")
            #expect(try await TestStack.eventually { try await s.withdrawal.get("/v1/rent-plans/\(planId)").string("status") == "completed" })
            let done = try await s.withdrawal.get("/v1/rent-plans/\(planId)")
            #expect(done.int("monthsPaid") == 3)
            #expect(try await Self.balance(s, account) == 10_000)
            let future = try await s.withdrawal.post("/v1/jobs/rent-payments", #"{"asOf":"2026-06-16"}"#)
            #expect(future.status == 422 && future.string("code") == "as_of_in_future")
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
