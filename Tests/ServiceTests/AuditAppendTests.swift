import Contribution
import Foundation
import PostgresNIO
import ServiceRuntime
import Testing

/// The audit append's statement is prepared once per pooled connection, and postgres-nio keeps a
/// statement whose preparation failed failed for the rest of that connection's life. An append
/// that fails therefore closes its connection: otherwise every later append that landed on it
/// could fail too, and those requests would go unrecorded. (The append was once cancelled in its
/// Parse by a held table; since it became one function call its Parse takes no table lock and it
/// waits, and is cancelled, while it runs: every later request must still be recorded.)
@Suite("Audit append after a failed one")
struct AuditAppendTests {
    @Test("an append cancelled while it waits for the audit table does not cost any later request its record")
    func cancelledWhilePrepared() async throws {
        let service = try StackService(InterestTests.LedgerRoutesOnly.self, name: "audit-cancel")
        let descriptor = ContributionService.descriptor
        try await TestStack.withServices([service]) { stack in
            let client = stack["audit-cancel"]
            let officer = TestIdentity.staff([.fundOfficer], id: "officer-audit-cancel")
            let auditor = TestIdentity.staff([.auditor], id: "auditor-audit-cancel")
            let run = TestStack.unique("cancel")
            // An officer's look at an account is audited, found or not.
            func look(_ n: Int) async throws -> Int {
                try await client.send(
                    .get, "/v1/accounts/3207\(String(format: "%012d", 900_000 + n))/balance", as: officer,
                    headers: ["x-request-id": "\(run)-\(n)"]
                ).status
            }
            let before = try #require(try await client.get("/v1/audit/verification", as: auditor).int("records"))

            try await TestStack.withDatabase(of: descriptor, asOwner: true) { owner in
                try await owner.withConnection { lock in
                    // The table is held, so the service's append waits for it (once in the Parse of its
                    // statement, now inside its function)...
                    try await lock.query("BEGIN", logger: TestStack.logger)
                    try await lock.query("LOCK TABLE audit_records IN ACCESS EXCLUSIVE MODE", logger: TestStack.logger)
                    async let first = look(0)
                    // ... and is cancelled there (as its lock timeout would end it).
                    let cancelled = try await TestStack.withDatabase(of: descriptor) { db in
                        try await TestStack.eventually {
                            var count: Int64 = 0
                            for try await n in try await db.query(
                                """
                                SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
                                WHERE wait_event_type = 'Lock' AND query LIKE '%audit_append%' AND pid <> pg_backend_pid()
                                """
                            ).decode(Int64.self) { count = n }
                            return count > 0
                        }
                    }
                    #expect(cancelled)
                    #expect(try await first == 404, "the request itself is answered; only its record is lost (and logged)")
                    try await lock.query("COMMIT", logger: TestStack.logger)
                }
            }

            for n in 1...20 { #expect(try await look(n) == 404) }
            var recorded: Set<String> = []
            var after = Int64(before)
            while true {
                let page = try await client.get("/v1/audit?afterSeq=\(after)&limit=1000", as: auditor)
                let records = page["records"] as? [[String: Any]] ?? []
                for record in records {
                    if let entry = record["entry"] as? [String: Any], let id = entry["requestId"] as? String, id.hasPrefix(run) { recorded.insert(id) }
                }
                guard let last = (records.last?["seq"] as? NSNumber)?.int64Value, records.count == 1000 else { break }
                after = last
            }
            let later = Set((1...20).map { "\(run)-\($0)" })
            #expect(later.isSubset(of: recorded), "every later request recorded; missing: \(later.subtracting(recorded).sorted())")
        }
    }
}
