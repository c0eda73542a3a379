import Contracts
import Contribution
import Enrolment
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import ServiceRuntime
import Testing

/// End to end through the real enrolment and contribution applications, with the real Postgres
/// and broker: no HTTP between the services, only events.
@Suite("A worker's journey: enrolment to ledger")
struct WorkerJourneyTests {
    func withServices(_ body: @escaping @Sendable (JSONClient, JSONClient) async throws -> Void) async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self)]) { try await body($0.enrolment, $0.ledger) }
    }

    @Test("enrol, the ledger account appears via Kafka, a replayed deposit moves the balance once")
    func journey() async throws {
        try await withServices { enrolment, ledger in
            let idNumber = TestStack.newResidentID(birth: "1995-05-05", male: true)
            let enrolled = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: idNumber))
            #expect(enrolled.status == 201, "\(enrolled.text)")
            #expect(enrolled.int("monthlyMinimumFen") == 11_300)
            let account = try #require(enrolled.string("accountNumber"))

            let view = try await enrolment.get("/v1/accounts/\(account)")
            #expect(view.status == 200)
            #expect(view.string("idNumber") == String(idNumber.prefix(4)) + "**********" + String(idNumber.suffix(4)))
            #expect(!view.text.contains(idNumber))

            // Name and phone are sealed at rest; the view opens them.
            #expect(view.string("name") == "张伟" && view.string("phone") == "139****5678", "\(view.text)")
            let stored = try await TestStack.withDatabase(of: EnrolmentService.descriptor) { db -> [String] in
                var values: [String] = []
                for try await (name, phone, payout) in try await db.query(
                    "SELECT name, phone, payout_bank_account FROM accounts WHERE account_number = \(account)"
                ).decode((String, String, String).self) {
                    values = [name, phone, payout]
                }
                return values
            }
            #expect(
                stored.count == 3 && stored.allSatisfy { $0.hasPrefix("pd1:") }
                    && !stored.contains { $0.contains("张伟") || $0.contains("13912345678") || $0.contains("6222000011112222") },
                "\(stored)")

            #expect(
                try await TestStack.eventually { try await ledger.get("/v1/accounts/\(account)/balance").status == 200 },
                "the ledger account is opened from the account-opened event")

            // A channel cannot report a payment from before the account existed (history comes
            // only through the staff import); nothing is recorded, so the next one is the first.
            let early = try await ledger.post(
                "/v1/contributions",
                Bodies.contribution(
                    account: account, amountFen: 50_000, txn: TestStack.unique("wx"),
                    paidAt: "2026-03-15T23:59:59+08:00"))
            #expect(early.status == 422 && early.string("code") == "paid_at_before_opening", "\(early.text)")

            let txn = TestStack.unique("wx")
            let deposit = Bodies.contribution(account: account, amountFen: 50_000, txn: txn)
            let first = try await ledger.post("/v1/contributions", deposit)
            #expect(first.status == 201, "\(first.text)")
            #expect(first.int("balanceFen") == 50_000)
            let replay = try await ledger.post("/v1/contributions", deposit)
            #expect(replay.status == 200)
            #expect(replay.string("contributionId") == first.string("contributionId") && replay.int("balanceFen") == 50_000)
            let changed = try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 60_000, txn: txn))
            #expect(changed.status == 409 && changed.string("code") == "duplicate_transaction_mismatch")

            let balance = try await ledger.get("/v1/accounts/\(account)/balance")
            // (Other tests' annual-subsidy runs may credit this account's lot: contributions are what is checked.)
            #expect(balance.int("contributedFen") == 50_000)
            #expect(balance.int("contributionMonths") == 1)

            let low = try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 11_299, txn: TestStack.unique("wx")))
            #expect(low.status == 422 && low.string("code") == "below_minimum_contribution" && low.int("minimumFen") == 11_300)
            #expect(low.contentType == "application/problem+json")

            let malformed = try await ledger.post("/v1/contributions", #"{"accountNumber": "#)
            #expect(malformed.status == 400 && malformed.string("code") == "malformed_request")
            let missing = try await ledger.post("/v1/contributions", #"{"accountNumber":"\#(account)"}"#)
            #expect(missing.status == 400)
            let unknown = try await ledger.post("/v1/contributions", Bodies.contribution(account: "3207009999999999", amountFen: 50_000, txn: "x"))
            #expect(unknown.status == 404)

            let entries = try await ledger.get("/v1/accounts/\(account)/ledger")
            let list = entries["entries"] as? [[String: Any]] ?? []
            #expect(list.filter { $0["kind"] as? String == "contribution" }.count == 1)

            // One contribution-received event, although the notification arrived twice.
            @Sendable func received(_ message: KafkaMessage) -> Bool {
                message.keyString == account && (try? CloudEventCoding.header(from: message.value).type) == EventType.contributionReceived.rawValue
            }
            // Wait generously for the event; then look again for a second copy, which would have been
            // published with the first (on a loaded machine the second look may see nothing yet: never a copy).
            let events = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1, seconds: 60, where: received)
            // Delivery is at least once (an instance stopped between publishing and marking leaves the
            // record to the next relay), so copies of one record, with one CloudEvents id, are one event.
            let copies = try await TestStack.read(topic: Topic.contributionEvents.name, count: 2, seconds: 10, where: received)
            #expect(TestStack.distinctEvents(events + copies) == 1, "no second contribution-received for one payment")
            let received = try events.prefix(1).map { try CloudEventCoding.decode(ContributionReceived.self, from: $0.value).data }
            #expect(received.count == 1)
            #expect(received.first?.firstContribution == true && received.first?.sequence == 1 && received.first?.balanceAfterFen == 50_000)

            // The raw ID number never reaches an internal topic.
            let opened = try await TestStack.read(topic: Topic.enrolmentEvents.name, count: 1) { $0.keyString == account }
            #expect(opened.count == 1)
            #expect(!String(decoding: opened[0].value, as: UTF8.self).contains(idNumber))
        }
    }

    @Test("eligibility refusals carry their rule codes")
    func refusals() async throws {
        try await withServices { enrolment, _ in
            let invalid = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: "530102192005080119"))
            #expect(invalid.status == 422 && invalid.string("code") == "invalid_id_number")
            let young = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: TestStack.residentID(birth: "2011-01-01", serial: 1, male: true)))
            #expect(young.string("code") == "below_working_age")
            let old = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: TestStack.residentID(birth: "1965-12-01", serial: 1, male: true)))
            #expect(old.string("code") == "above_retirement_age")
            let low = try await enrolment.post(
                "/v1/enrolments",
                Bodies.enrolment(idNumber: TestStack.residentID(birth: "1990-01-01", serial: 3, male: false), schedule: "quarterly", amountFen: 30_000))
            #expect(low.status == 422 && low.string("code") == "agreement_below_minimum" && low.int("minimumFen") == 33_900)
            let outside = try await enrolment.post(
                "/v1/enrolments",
                Bodies.enrolment(idNumber: TestStack.residentID(birth: "1990-01-01", serial: 4, male: false), county: "320300"))
            #expect(outside.string("code") == "county_outside_city")
            let badEnum = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: "x").replacingOccurrences(of: "new_form", with: "salaried"))
            #expect(badEnum.status == 400)
        }
    }

    @Test("the edge: JSON under another content type is 415, a control character in any string is 400, and the service stays ready")
    func edge() async throws {
        try await withServices { enrolment, ledger in
            let idNumber = TestStack.newResidentID(birth: "1996-06-06", male: true)
            let body = Bodies.enrolment(idNumber: idNumber)
            let plain = try await enrolment.send(.post, "/v1/enrolments", body: body, headers: ["content-type": "text/plain"])
            #expect(plain.status == 415 && plain.string("code") == "unsupported_media_type", "\(plain.text)")
            for sneaky in [#"张\u0000伟"#, #"张\u001f伟"#, #"张\n伟"#, #"张\u007F伟"#] {
                let reply = try await enrolment.post("/v1/enrolments", body.replacingOccurrences(of: "张伟", with: sneaky))
                #expect(reply.status == 400 && reply.string("code") == "malformed_request", "\(sneaky): \(reply.text)")
            }
            let escapedBackslash = try await enrolment.post("/v1/enrolments", body.replacingOccurrences(of: "张伟", with: #"张\\n伟"#))
            #expect(
                escapedBackslash.status == 201 && !escapedBackslash.text.contains("control character"),
                "a literal backslash followed by n is not a control character: \(escapedBackslash.text)")
            let txn =
                #"{"accountNumber":"3207009999999999","amountFen":50000,"channel":"wechat","channelTxnId":"wx\u0000","paidAt":"2026-03-16T10:00:00+08:00"}"#
            #expect(try await ledger.post("/v1/contributions", txn).status == 400)
            // Still ready: waited for, since /ready's own database probe may take past its 2 s on a
            // busy machine (a fresh-clone CI with one core busy saw one such 503).
            #expect(try await TestStack.eventually { try await enrolment.get("/ready", as: .anonymous).status == 200 })
            #expect(try await TestStack.eventually { try await ledger.get("/ready", as: .anonymous).status == 200 })
        }
    }

    @Test("one active account per person; an active bad-credit record blocks enrolment")
    func duplicatesAndCredit() async throws {
        try await withServices { enrolment, _ in
            let person = TestStack.newResidentID(county: "320722", birth: "1988-08-08", male: false)
            let first = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: person, county: "320722"))
            #expect(first.status == 201, "\(first.text)")
            let again = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: person, county: "320722"))
            #expect(again.status == 409 && again.string("code") == "already_enrolled")

            let debtor = TestStack.newResidentID(county: "320723", birth: "1979-09-09", male: true)
            let record =
                #"{"records":[{"idNumber":"\#(debtor)","source":"court","reference":"\#(TestStack.unique("case"))","reason":"judgement debtor","activeFrom":"2026-01-01"}]}"#
            let unauthorised = try await enrolment.post("/v1/credit-records", record, as: .anonymous)
            #expect(unauthorised.status == 401)
            let imported = try await enrolment.post("/v1/credit-records", record)
            #expect(imported.status == 200 && imported.int("imported") == 1)
            let replayed = try await enrolment.post("/v1/credit-records", record)
            #expect(replayed.int("imported") == 0 && replayed.int("alreadyKnown") == 1)
            let blocked = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: debtor, county: "320723"))
            #expect(blocked.status == 422 && blocked.string("code") == "bad_credit")

            let stats = try await enrolment.get("/v1/statistics?groupBy=county")
            let groups = stats["groups"] as? [[String: Any]] ?? []
            #expect(stats.status == 200 && groups.contains { $0["key"] as? String == "320722" })
            #expect(try await enrolment.get("/v1/statistics?groupBy=shoeSize").status == 400)
        }
    }

    @Test("agreement changes reach the ledger; legacy history imports once; the tax statement caps deductions")
    func agreementsImportsAndTax() async throws {
        try await withServices { enrolment, ledger in
            let person = TestStack.newResidentID(birth: "1992-02-02", male: true)
            let enrolled = try await enrolment.post("/v1/enrolments", Bodies.enrolment(idNumber: person))
            let account = try #require(enrolled.string("accountNumber"), "\(enrolled.text)")
            let changed = try await enrolment.put("/v1/accounts/\(account)/agreement", #"{"schedule":"quarterly","amountFen":40000,"channel":"alipay"}"#)
            #expect(changed.status == 200, "\(changed.text)")
            let tooLow = try await enrolment.put("/v1/accounts/\(account)/agreement", #"{"schedule":"quarterly","amountFen":30000,"channel":"alipay"}"#)
            #expect(tooLow.string("code") == "agreement_below_minimum")

            // Once the ledger follows the change, a quarterly payment must cover three months'
            // minimum. (The probe is below both minimums, so it never moves money.)
            #expect(
                try await TestStack.eventually {
                    let reply = try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 100, txn: TestStack.unique("q")))
                    return reply.int("minimumFen") == 33_900
                })

            let legacyID = TestStack.unique("legacy")
            let history =
                #"[{"accountNumber":"\#(account)","amountFen":150000,"paidAt":"2024-05-10T09:00:00+08:00","legacyId":"\#(legacyID)"},{"accountNumber":"3207009999999998","amountFen":100,"paidAt":"2024-05-10T09:00:00+08:00","legacyId":"\#(TestStack.unique("legacy"))"}]"#
            #expect(try await ledger.post("/v1/imports/contributions", history, as: .anonymous).status == 401)
            let imported = try await ledger.post("/v1/imports/contributions", history)
            #expect(imported.int("imported") == 1 && imported.int("refused") == 1, "\(imported.text)")
            let again = try await ledger.post("/v1/imports/contributions", history)
            #expect(again.int("imported") == 0 && again.int("alreadyImported") == 1)

            let tax = try await ledger.get("/v1/accounts/\(account)/tax-statement?year=2024")
            #expect(tax.int("contributedFen") == 150_000 && tax.int("deductibleFen") == 150_000)
            #expect(try await ledger.get("/v1/accounts/\(account)/tax-statement").status == 400)
            let balance = try await ledger.get("/v1/accounts/\(account)/balance")
            #expect(balance.int("contributedFen") == 150_000)
        }
    }
}
