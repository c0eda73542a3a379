import Contribution
import Enrolment
import Foundation
import Logging
import PostgresNIO
import ServiceRuntime
import Testing

/// Each service connects with its own role, which can use its own schema only.
@Suite("Database roles")
struct DatabaseRoleTests {
    func sqlState(as role: String, _ sql: String) async throws -> String? {
        let port = Int(TestStack.environment["HPF_PG_PORT"] ?? "55433")!
        let config = PostgresClient.Configuration(host: "127.0.0.1", port: port, username: role, password: role, database: "hpf", tls: .disable)
        let client = PostgresClient(configuration: config, backgroundLogger: TestStack.logger)
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                await client.run(); return nil
            }
            defer { group.cancelAll() }
            do {
                try await client.query(PostgresQuery(unsafeSQL: sql))
                return "ok"
            } catch let error as PSQLError {
                return error.serverInfo?[.sqlState]
            }
        }
    }

    @Test(
        "a service's role cannot read another service's schema",
        arguments: [
            ("enrolment", "SELECT count(*) FROM contribution.accounts"),
            ("contribution", "SELECT count(*) FROM enrolment.accounts"),
            ("subsidy", "SELECT count(*) FROM enrolment.credit_records"),
            ("loan", "SELECT count(*) FROM contribution.postings"),
        ])
    func isolation(_ role: String, _ sql: String) async throws {
        #expect(try await sqlState(as: role, sql) == "42501")  // insufficient_privilege
    }

    /// The enrolment and contribution schemas as the services find them at start (migrated,
    /// rights granted).
    func migratedLedger() async throws {
        try await Migrator.migrate(config: TestStack.config(EnrolmentService.descriptor), descriptor: EnrolmentService.descriptor, logger: TestStack.logger)
        try await Migrator.migrate(
            config: TestStack.config(ContributionService.descriptor), descriptor: ContributionService.descriptor, logger: TestStack.logger)
    }

    @Test(
        "a service's role has data rights only: no DDL, no TRUNCATE, no temporary tables, no rewriting the migration record",
        arguments: [
            ("enrolment", "CREATE TABLE enrolment.role_probe (x int)"),
            ("enrolment", "DROP TABLE enrolment.accounts"),
            ("enrolment", "ALTER TABLE enrolment.accounts ADD COLUMN probe int"),
            ("enrolment", "CREATE TEMP TABLE probe (x int)"),
            ("contribution", "TRUNCATE contribution.outbox"),
            ("contribution", "DROP TRIGGER postings_immutable ON contribution.postings"),
            ("contribution", "DELETE FROM contribution.schema_migrations WHERE version = 1"),
        ])
    func dataRightsOnly(_ role: String, _ sql: String) async throws {
        try await migratedLedger()
        #expect(try await sqlState(as: role, sql) == "42501", "\(role): \(sql)")  // insufficient_privilege
    }

    @Test("ledger postings are append-only: the service's role may add and read them but not rewrite or delete them; the trigger also stops the owner")
    func immutablePostings() async throws {
        try await migratedLedger()
        #expect(try await sqlState(as: "contribution", "SELECT count(*) FROM contribution.postings") == "ok")
        #expect(try await sqlState(as: "contribution", "UPDATE contribution.postings SET amount_fen = 0 WHERE seq = 1") == "42501")
        #expect(try await sqlState(as: "contribution", "DELETE FROM contribution.postings WHERE seq = 1") == "42501")
        #expect(try await sqlState(as: "contribution", "DELETE FROM contribution.outbox WHERE false") == "ok", "ordinary tables stay writable")
        #expect(try await sqlState(as: "contribution_owner", "DELETE FROM contribution.postings WHERE seq = 1") == "P0001")
    }
}
