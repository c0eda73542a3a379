import Contracts
import Contribution
import Enrolment
import Foundation
import HummingbirdTesting
import Kafka
import PostgresNIO
import ServiceRuntime
import Subsidy
import Testing

/// An event a consumer cannot apply for a reason of ours (here a database fault, played by a
/// trigger) is dead-lettered as `processing_failed` with its record kept; once the fault is
/// mended an operator redrives it through the inbox and it takes effect exactly once.
@Suite("Dead letters: kept, listed and redriven through the inbox", .serialized)
struct DeadLetterRedriveTests {
    static let operatorIdentity = TestIdentity.staff([.systemOperator], id: "operator-test")

    func withServices(_ body: @escaping @Sendable (JSONClient, JSONClient, JSONClient, Int) async throws -> Void) async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self), .init(SubsidyService.self)]) {
            try await body($0.enrolment, $0.ledger, $0.subsidy, try #require($0.subsidy.client.port))
        }
    }

    /// Plays a fault in the subsidy schema: inserting a lot for `account` fails (as the owner: the
    /// service's own role cannot create triggers).
    func fault(_ account: String, on: Bool) async throws {
        let schema = SubsidyService.descriptor.schema
        let name = "test_fault_" + account.filter(\.isNumber)
        // The trigger's DDL locks the shared `lots` table: it waits at most a second at a time (so
        // the other tests' inserts never queue behind it for long) and tries again, as it does
        // after any other refusal (a deadlock with the suite's inserts, say): it is idempotent and
        // all or nothing.
        let statements =
            on
            ? [
                """
                CREATE OR REPLACE FUNCTION \(schema).\(name)() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.account_number = '\(account)' THEN RAISE EXCEPTION 'played fault'; END IF;
                    RETURN NEW;
                END $$
                """, "CREATE OR REPLACE TRIGGER \(name) BEFORE INSERT ON \(schema).lots FOR EACH ROW EXECUTE FUNCTION \(schema).\(name)()",
            ]
            : ["DROP TRIGGER IF EXISTS \(name) ON \(schema).lots", "DROP FUNCTION IF EXISTS \(schema).\(name)()"]
        try await TestStack.withDatabase(of: SubsidyService.descriptor, asOwner: true) { database in
            let locked = try await TestStack.eventually(seconds: 120) {
                do {
                    try await database.transaction { connection in
                        try await connection.query("SET LOCAL lock_timeout = '1s'", logger: TestStack.logger)
                        for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: TestStack.logger) }
                    }
                    return true
                } catch  where DatabaseErrors.sqlState(error) != nil {
                    TestStack.logger.warning("fault DDL retried", metadata: ["error": "\(DatabaseErrors.summary(error))"])
                    return false
                }
            }
            #expect(locked, "the trigger's DDL got its lock")
        }
    }

    func lots(_ account: String) async throws -> Int64 {
        try await TestStack.withDatabase(of: SubsidyService.descriptor) { database in
            var count: Int64 = 0
            for try await c in try await database.query("SELECT count(*) FROM lots WHERE account_number = \(account)").decode(Int64.self) { count = c }
            return count
        }
    }

    /// The open letters of the lot consumer for `account`.
    func letters(_ subsidy: JSONClient, account: String, state: String = "open") async throws -> [[String: Any]] {
        var found: [[String: Any]] = []
        var after: Int64 = 0
        while true {
            let page = try await subsidy.get(
                "/v1/dead-letters?consumer=contribution-lots&state=\(state)&limit=1000&afterSeq=\(after)", as: Self.operatorIdentity)
            #expect(page.status == 200, "\(page.text)")
            found += (page["deadLetters"] as? [[String: Any]] ?? []).filter { $0["key"] as? String == account }
            guard let next = page.int("nextAfterSeq") else { return found }
            after = next
        }
    }

    /// Enrols someone, plays the fault for their account and pays in: the deposit's first letter
    /// (the fault is left on).
    func failingDeposit(_ enrolment: JSONClient, _ ledger: JSONClient, _ subsidy: JSONClient, birth: String) async throws -> (String, [String: Any]) {
        let account = try await TestStack.enrol(enrolment, ledger, Bodies.enrolment(idNumber: TestStack.newResidentID(birth: birth, male: false)))
        try await fault(account, on: true)
        let paid = try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 30_000, txn: TestStack.unique("wx")))
        #expect(paid.status == 201, "\(paid.text)")
        var letter: [String: Any] = [:]
        #expect(
            try await TestStack.eventually {
                letter = try await letters(subsidy, account: account).first ?? [:]
                return !letter.isEmpty
            }, "the failing deposit is dead-lettered")
        return (account, letter)
    }

    @Test("a deposit the subsidy service fails to apply is dead-lettered as processing_failed; once mended, a redrive applies it exactly once")
    func redriveAfterMend() async throws {
        try await withServices { enrolment, ledger, subsidy, subsidyPort in
            // Five attempts, then the letter, with the record kept.
            let (account, letter) = try await failingDeposit(enrolment, ledger, subsidy, birth: "1990-05-05")
            #expect(letter["reason"] as? String == DeadLetter.Reason.processingFailed.rawValue)
            #expect(letter["redrivable"] as? Bool == true && letter["eventType"] as? String == EventType.contributionReceived.rawValue)
            #expect(letter["detail"] as? String == "processing failed after 5 attempts: database error P0001: played fault")
            let id = try #require(letter["id"] as? String)
            #expect(try await lots(account) == 0)
            let metrics = try await subsidy.get("/metrics")
            #expect(metrics.text.contains(#"hpf_events_dead_lettered_total{consumer="contribution-lots",reason="processing_failed"}"#))

            // Only an operator redrives; an auditor reads the list but cannot redrive.
            #expect(try await subsidy.post("/v1/dead-letters/\(id)/redrive", "", as: .anonymous).status == 401)
            #expect(try await subsidy.post("/v1/dead-letters/\(id)/redrive", "", as: .staff([.fundOfficer, .auditor])).status == 403)
            #expect(try await subsidy.get("/v1/dead-letters", as: .staff([.auditor])).status == 200)
            #expect(try await subsidy.get("/v1/dead-letters", as: .staff([.fundOfficer])).status == 403)
            #expect(try await subsidy.post("/v1/dead-letters/\(UUID().uuidString)/redrive", "", as: Self.operatorIdentity).status == 404)

            // Still failing: the redrive leaves a new letter and applies nothing. `duplicate` is right
            // too: on the shared test stack another test's subsidy instance (its consumer group reads
            // the whole topic) may meet the same record while the redrive has its inbox entry away,
            // fail it as well and leave the new letter itself.
            let again = try await subsidy.post("/v1/dead-letters/\(id)/redrive", "", as: Self.operatorIdentity)
            #expect(again.status == 200 && ["dead_lettered", "duplicate"].contains(again.string("outcome")), "\(again.text)")
            var newID = again.string("deadLetterId") ?? ""
            #expect(
                try await TestStack.eventually {
                    if newID.isEmpty { newID = try await letters(subsidy, account: account).first?["id"] as? String ?? "" }
                    return !newID.isEmpty
                }, "the record failed again has a new letter: \(again.text)")
            #expect(try await lots(account) == 0)

            // Mended: the operator's CLI lists the letter and redrives it; the deposit is applied once;
            // the letter cannot be redriven twice.
            try await fault(account, on: false)
            let url = "http://127.0.0.1:\(subsidyPort)"
            let listed = try await HPFCtl.run(["deadletters", "list", "--url", url, "--consumer", "contribution-lots", "--json"])
            #expect(listed.status == 0 && listed.output.contains(newID) && !listed.output.contains("\"id\":\"\(id)\""), "\(listed)")
            let redriven = try await HPFCtl.run(["deadletters", "redrive", newID, "--url", url, "--as", "staff:operator-cli:operator"])
            // `duplicate` is right too: on the shared test stack consumer groups rebalance often, and a
            // live consumer that was handed the record again may apply it first once the fault is
            // mended (the redrive took its inbox entry away). Either way it counts exactly once.
            #expect(redriven.status == 0 && (redriven.output.contains("processed") || redriven.output.contains("duplicate")), "\(redriven)")
            #expect(try await lots(account) == 1)
            let refused = try await HPFCtl.run(["deadletters", "redrive", newID, "--url", url, "--as", "staff:operator-cli:operator"])
            #expect(refused.status == 1 && refused.errors.contains("already_redriven"), "\(refused)")
            let twice = try await subsidy.post("/v1/dead-letters/\(newID)/redrive", "", as: Self.operatorIdentity)
            #expect(twice.status == 409 && twice.string("code") == "already_redriven")
            let done = try await letters(subsidy, account: account, state: "redriven")
            #expect(Set(done.compactMap { $0["id"] as? String }) == [id, newID])
            #expect(try await letters(subsidy, account: account).isEmpty)
        }
    }

    @Test("a letter older than events applied since for its account is refused as superseded; a refused record is not redriven")
    func supersededAndRuleRefusals() async throws {
        try await withServices { enrolment, ledger, subsidy, _ in
            let (account, letter) = try await failingDeposit(enrolment, ledger, subsidy, birth: "1991-06-06")
            let id = try #require(letter["id"] as? String)
            // Mended, and a later deposit of the same account is applied: the old one would now come
            // after it, so it is refused (a balance kept as the latest value would go back in time).
            try await fault(account, on: false)
            let second = try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 20_000, txn: TestStack.unique("wx")))
            #expect(second.status == 201, "\(second.text)")
            #expect(try await TestStack.eventually { try await lots(account) == 1 })
            let refused = try await subsidy.post("/v1/dead-letters/\(id)/redrive", "", as: Self.operatorIdentity)
            #expect(refused.status == 409 && refused.string("code") == "superseded", "\(refused.text)")
            #expect(try await lots(account) == 1)

            // A record refused for what it is (here: no writer's signature, so not one of the suite's
            // events) stays refused.
            let key = TestStack.unique("acct")
            let bad = CloudEvent(source: "/hpf/contribution", type: EventType.contributionReceived.rawValue, subject: key, data: ["amountFen": "x"])
            let value = try CloudEventCoding.encode(bad)
            let producer = try KafkaProducer(configuration: .producer(brokers: TestStack.brokers, clientID: "test"), logger: TestStack.logger)
            try await producer.send(OutgoingMessage(topic: Topic.contributionEvents.name, key: key, value: value, headers: []))
            await producer.shutdown()
            var invalid: [String: Any] = [:]
            #expect(
                try await TestStack.eventually {
                    invalid = try await letters(subsidy, account: key).first ?? [:]
                    return !invalid.isEmpty
                })
            #expect(invalid["reason"] as? String == DeadLetter.Reason.unverified.rawValue && invalid["redrivable"] as? Bool == true)
            let ruled = try await subsidy.post("/v1/dead-letters/\(try #require(invalid["id"] as? String))/redrive", "", as: Self.operatorIdentity)
            #expect(ruled.status == 409 && ruled.string("code") == "reason_not_redrivable", "\(ruled.text)")
        }
    }
}
