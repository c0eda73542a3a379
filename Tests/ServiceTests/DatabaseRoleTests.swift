import Contribution
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
            group.addTask { await client.run(); return nil }
            defer { group.cancelAll() }
            do {
                try await client.query(PostgresQuery(unsafeSQL: sql))
                return "ok"
            } catch let error as PSQLError {
                return error.serverInfo?[.sqlState]
            }
        }
    }

    @Test("a service's role cannot read another service's schema", arguments: [
        ("enrolment", "SELECT count(*) FROM contribution.accounts"),
        ("contribution", "SELECT count(*) FROM enrolment.accounts"),
        ("subsidy", "SELECT count(*) FROM enrolment.credit_records"),
        ("loan", "SELECT count(*) FROM contribution.postings"),
    ])
    func isolation(_ role: String, _ sql: String) async throws {
        #expect(try await sqlState(as: role, sql) == "42501") // insufficient_privilege
    }

    @Test("a service's role can create and read tables in its own schema")
    func ownSchema() async throws {
        let table = "enrolment.role_probe_\(UInt32.random(in: 0...UInt32.max))"
        #expect(try await sqlState(as: "enrolment", "CREATE TABLE \(table) (x int)") == "ok")
        #expect(try await sqlState(as: "enrolment", "SELECT count(*) FROM \(table)") == "ok")
        #expect(try await sqlState(as: "enrolment", "DROP TABLE \(table)") == "ok")
    }

    @Test("ledger postings are immutable")
    func immutablePostings() async throws {
        let database = Database(config: TestStack.config(ContributionService.descriptor), logger: TestStack.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            try await Migrator.migrate(database: database, migrations: ContributionService.descriptor.migrations)
            group.cancelAll()
        }
        #expect(try await sqlState(as: "contribution", "DELETE FROM contribution.postings WHERE seq = 1") == "P0001")
    }
}
