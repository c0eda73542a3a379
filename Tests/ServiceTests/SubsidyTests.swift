import Contracts
import Contribution
import Enrolment
import Foundation
import HummingbirdTesting
import Kafka
import Policy
import PostgresNIO
import ServiceRuntime
import Subsidy
import Testing

/// The subsidy service end to end with enrolment and the ledger: grants travel as events and the
/// ledger credits them; no HTTP call between services.
@Suite("Subsidies end to end")
struct SubsidyTests {

    func withServices(
        subsidyClock: BusinessClock = TestStack.clock,
        _ body: @escaping @Sendable (JSONClient, JSONClient, JSONClient) async throws -> Void
    ) async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self), .init(SubsidyService.self, clock: subsidyClock)]) {
            try await body($0.enrolment, $0.ledger, $0.subsidy)
        }
    }

    func enrol(
        _ enrolment: JSONClient, _ ledger: JSONClient, birth: String, education: String = #"{"level":"below_bachelor"}"#,
        children: Int = 0
    ) async throws -> String {
        let person = TestStack.newResidentID(birth: birth, male: true)
        return try await TestStack.enrol(enrolment, ledger, Bodies.enrolment(idNumber: person, education: education, children: children))
    }

    func withSubsidyDatabase<T: Sendable>(_ body: (Database) async throws -> T) async throws -> T {
        try await TestStack.withDatabase(of: SubsidyService.descriptor, body)
    }

    @Test("a fresh graduate's first deposit: within seconds the ledger shows the contribution plus 400.00; exactly once")
    func openingSubsidyCredited() async throws {
        try await withServices { enrolment, ledger, subsidy in
            let account = try await enrol(enrolment, ledger, birth: "2003-04-04", education: #"{"level":"bachelor","graduationDate":"2025-06-30"}"#)
            let paid = try await ledger.post(
                "/v1/contributions", Bodies.contribution(account: account, amountFen: 50_000, txn: TestStack.unique("wx"), paidAt: Bodies.inWindow))
            #expect(paid.status == 201)
            #expect(
                try await TestStack.eventually(seconds: 90) {
                    try await ledger.get("/v1/accounts/\(account)/balance").int("balanceFen") == 90_000
                }, "contribution 500.00 + opening subsidy 400.00")
            let balance = try await ledger.get("/v1/accounts/\(account)/balance")
            #expect(balance.int("subsidyFen") == 40_000 && balance.int("contributedFen") == 50_000)

            // Replays: the same contribution event again, and a second "first" contribution event
            // for the same person (as after a re-enrolment or a restart).
            let events = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1) { $0.keyString == account }
            let original = try #require(events.first)
            var second = try CloudEventCoding.decode(ContributionReceived.self, from: original.value)
            second.id = UUID().uuidString.lowercased()
            second.data.contributionId = UUID().uuidString.lowercased()
            let producer = try KafkaProducer(configuration: .producer(brokers: TestStack.brokers, clientID: "test"), logger: TestStack.logger)
            // Both as the ledger would publish them: signed with its event key.
            try await producer.send(OutgoingMessage(topic: Topic.contributionEvents.name, key: account, value: original.value, headers: original.headers))
            let secondValue = try CloudEventCoding.encode(second)
            try await producer.send(
                OutgoingMessage(
                    topic: Topic.contributionEvents.name, key: account, value: secondValue,
                    headers: try TestStack.signed(as: "contribution", topic: Topic.contributionEvents.name, secondValue)))
            await producer.shutdown()
            // Handled, not merely sent: the subsidy service's inbox has the second event (which
            // follows the replayed one on the account's partition). A fixed pause could end first.
            let secondId = second.id
            let handled = try await TestStack.withDatabase(of: SubsidyService.descriptor) { database in
                try await TestStack.eventually(seconds: 120) {
                    var seen = false
                    for try await count in try await database.query("SELECT count(*)::int FROM processed_events WHERE event_id = \(secondId)")
                        .decode(Int.self)
                    { seen = count > 0 }
                    return seen
                }
            }
            #expect(handled, "the subsidy service handled both events")

            let view = try await subsidy.get("/v1/accounts/\(account)/subsidies")
            #expect(view.int("totalFen") == 40_000 && view.int("remainingCapFen") == 960_000 && view.int("capFen") == 1_000_000)
            let grants = view["grants"] as? [[String: Any]] ?? []
            #expect(grants.count == 1 && grants.first?["kind"] as? String == "opening")
            #expect(try await ledger.get("/v1/accounts/\(account)/balance").int("subsidyFen") == 40_000)
        }
    }

    @Test("a person already granted 9,990.00 receives 10.00 of a 300.00 opening subsidy")
    func capClipsTheOpeningSubsidy() async throws {
        try await withServices { enrolment, ledger, subsidy in
            let account = try await enrol(enrolment, ledger, birth: "1990-05-05", children: 2)
            #expect(try await TestStack.eventually { try await subsidy.get("/v1/accounts/\(account)/subsidies").status == 200 })
            try await withSubsidyDatabase { database in
                try await database.query(
                    """
                    INSERT INTO person_caps (person_ref, granted_fen)
                    SELECT person_ref, 999000 FROM participants WHERE account_number = \(account)
                    ON CONFLICT (person_ref) DO UPDATE SET granted_fen = 999000
                    """)
            }
            _ = try await ledger.post(
                "/v1/contributions", Bodies.contribution(account: account, amountFen: 20_000, txn: TestStack.unique("wx"), paidAt: Bodies.inWindow))
            #expect(
                try await TestStack.eventually(seconds: 90) {
                    try await ledger.get("/v1/accounts/\(account)/balance").int("subsidyFen") == 1_000
                })
            let view = try await subsidy.get("/v1/accounts/\(account)/subsidies")
            #expect(view.int("totalFen") == 1_000_000 && view.int("remainingCapFen") == 0)
        }
    }

    @Test("annual subsidy on each lot's anniversary (29 February included), idempotent, never for a future asOf")
    func annualSubsidy() async throws {
        try await withServices(subsidyClock: BusinessClock(fixedDate: BusinessDate("2026-07-02")!)) { enrolment, ledger, subsidy in
            let account = try await enrol(enrolment, ledger, birth: "1985-06-06")
            let history = """
                [{"accountNumber":"\(account)","amountFen":120000,"paidAt":"2025-07-01T10:00:00+08:00","legacyId":"\(TestStack.unique("l"))"},
                 {"accountNumber":"\(account)","amountFen":100000,"paidAt":"2024-02-29T10:00:00+08:00","legacyId":"\(TestStack.unique("l"))"}]
                """
            #expect(try await ledger.post("/v1/imports/contributions", history).int("imported") == 2)
            // Wait until the subsidy service knows the participant (the profile comes from the
            // enrolment events, by another consumer than the lots) and both lots exist.
            #expect(try await TestStack.eventually { try await subsidy.get("/v1/accounts/\(account)/subsidies").status == 200 })
            #expect(
                try await TestStack.eventually {
                    try await withSubsidyDatabase { db in
                        var n: Int64 = 0
                        for try await c in try await db.query("SELECT count(*) FROM lots WHERE account_number = \(account)").decode(Int64.self) { n = c }
                        return n == 2
                    }
                })
            #expect(try await subsidy.post("/v1/jobs/annual-subsidy", #"{"asOf":"2026-07-03"}"#).string("code") == "as_of_in_future")
            #expect(try await subsidy.post("/v1/jobs/annual-subsidy", #"{"asOf":"2026-07-01"}"#, as: .anonymous).status == 401)
            let first = try await subsidy.post("/v1/jobs/annual-subsidy", #"{"asOf":"2026-07-01"}"#)
            #expect(first.status == 200, "\(first.text)")
            _ = try await subsidy.post("/v1/jobs/annual-subsidy", #"{"asOf":"2026-07-01"}"#)

            // 12.00 on 1,200.00 (2026-07-01) + 10.00 on 1,000.00 (2026-02-28); 2025-02-28 was before the scheme.
            let view = try await subsidy.get("/v1/accounts/\(account)/subsidies")
            let annual = (view["grants"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "annual" }
            #expect(annual.reduce(Int64(0)) { $0 + (($1["amountFen"] as? NSNumber)?.int64Value ?? 0) } == 2_200, "\(view.text)")
            #expect(
                try await TestStack.eventually(seconds: 90) {
                    try await ledger.get("/v1/accounts/\(account)/balance").int("balanceFen") == 222_200
                })
            let budget = try await subsidy.get("/v1/subsidy-budget")
            #expect((budget["lines"] as? [[String: Any]] ?? []).contains { $0["kind"] as? String == "annual" && ($0["year"] as? NSNumber)?.intValue == 2026 })
        }
    }

    @Test("a debit consumes the newest lots first")
    func newestFirst() async throws {
        try await withServices { enrolment, ledger, _ in
            let account = try await enrol(enrolment, ledger, birth: "1988-08-08")
            let history = ["2024-08-01": 100_000, "2024-09-01": 50_000, "2024-10-01": 30_000].map { day, amount in
                #"{"accountNumber":"\#(account)","amountFen":\#(amount),"paidAt":"\#(day)T10:00:00+08:00","legacyId":"\#(TestStack.unique("l"))"}"#
            }
            #expect(try await ledger.post("/v1/imports/contributions", "[\(history.joined(separator: ","))]").int("imported") == 3)
            func remaining() async throws -> [String: Int64] {
                try await withSubsidyDatabase { db in
                    var lots: [String: Int64] = [:]
                    for try await (day, left) in try await db.query(
                        "SELECT started_on::text, remaining_fen FROM lots WHERE account_number = \(account)"
                    ).decode((String, Int64).self) { lots[day] = left }
                    return lots
                }
            }
            #expect(try await TestStack.eventually { try await remaining().count == 3 })
            let debit = CloudEvent(
                source: "/hpf/contribution", type: EventType.debitPosted.rawValue, subject: account,
                data: DebitPosted(
                    debitId: UUID().uuidString, accountNumber: account, kind: .withdrawal, amountFen: 60_000, postedOn: TestStack.today,
                    balanceAfterFen: 120_000, sequence: 4))
            let producer = try KafkaProducer(configuration: .producer(brokers: TestStack.brokers, clientID: "test"), logger: TestStack.logger)
            let debitValue = try CloudEventCoding.encode(debit)
            try await producer.send(
                OutgoingMessage(
                    topic: Topic.contributionEvents.name, key: account, value: debitValue,
                    headers: try TestStack.signed(as: "contribution", topic: Topic.contributionEvents.name, debitValue)))
            await producer.shutdown()
            #expect(try await TestStack.eventually { try await remaining()["2024-10-01"] == 0 })
            #expect(try await remaining() == ["2024-10-01": 0, "2024-09-01": 20_000, "2024-08-01": 100_000])
        }
    }

    @Test("§12 social-insurance decisions are idempotent per person and month; §11 eligibility is published")
    func socialInsuranceAndEntrepreneurship() async throws {
        try await withServices { enrolment, ledger, subsidy in
            let person = TestStack.newResidentID(birth: "2002-02-02", male: false)
            let body = #"{"idNumber":"\#(person)","month":"2026-02","paidFen":90001,"leftSchoolOn":"2025-06-30","unemployedBeforeFlexibleWork":true}"#
            #expect(try await subsidy.post("/v1/social-insurance/payments", body, as: .anonymous).status == 401)
            let first = try await subsidy.post("/v1/social-insurance/payments", body)
            #expect(first.status == 201 || first.status == 200, "\(first.text)")
            #expect(first["approved"] as? Bool == true && first.int("subsidyFen") == 45_001 && !first.text.contains(person))
            let replay = try await subsidy.post("/v1/social-insurance/payments", body)
            #expect(replay.status == 200 && replay.string("decisionId") == first.string("decisionId"))
            let changed = try await subsidy.post("/v1/social-insurance/payments", body.replacingOccurrences(of: "90001", with: "90002"))
            #expect(changed.status == 409)
            let notEligible = try await subsidy.post(
                "/v1/social-insurance/payments",
                body.replacingOccurrences(of: "2026-02", with: "2026-01").replacingOccurrences(of: "true", with: "false"))
            #expect(notEligible["approved"] as? Bool == false && notEligible.string("reason") == "not_unemployed_before_flexible_work")

            let farmer = TestStack.newResidentID(birth: "1980-03-03", male: true)
            let reply = try await enrolment.post(
                "/v1/enrolments", Bodies.enrolment(idNumber: farmer).replacingOccurrences(of: "new_form", with: "individual_business"))
            let account = try #require(reply.string("accountNumber"), "\(reply.text)")
            let eligible = try await TestStack.read(topic: Topic.subsidyEvents.name, count: 1) { $0.keyString == account }
            let event = try #require(eligible.first)
            #expect(try CloudEventCoding.decode(EntrepreneurshipEligible.self, from: event.value).data.grounds == [.ruralIndividualBusiness])
            _ = ledger
        }
    }
}
