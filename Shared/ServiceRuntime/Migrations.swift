import Foundation
import Logging
import PostgresNIO

/// One versioned step of a service's schema. Applied once, in order, each in its own transaction.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
    public init(_ version: Int, _ name: String, _ sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

public enum Migrator {
    /// The runtime's own tables, first in every schema: the transactional outbox (Debezium
    /// outbox-router names, so CDC can replace the relay) and the inbox of processed events.
    public static let runtimeTables = Migration(
        0, "outbox and inbox",
        """
        CREATE TABLE IF NOT EXISTS outbox (
            id uuid PRIMARY KEY,
            aggregatetype text NOT NULL,
            aggregateid text NOT NULL,
            type text NOT NULL,
            topic text NOT NULL,
            payload text NOT NULL,
            headers jsonb NOT NULL DEFAULT '{}',
            occurred_at timestamptz NOT NULL DEFAULT now(),
            seq bigserial NOT NULL,
            published_at timestamptz
        );
        CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
        CREATE TABLE IF NOT EXISTS processed_events (
            consumer text NOT NULL,
            event_id text NOT NULL,
            outcome text NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        );
        """)

    /// Applies what is missing as the schema's owner (HPF_PG_OWNER_USER), under an advisory lock
    /// keyed by the schema so that several instances starting together migrate once, then gives
    /// the service's own role the data rights it needs and nothing more: no DDL (it does not own
    /// the schema), no TRUNCATE, no UPDATE or DELETE on append-only tables (the ledger's postings,
    /// the audit trail), no writes to the migration record.
    public static func migrate(config: ServiceConfig, descriptor: ServiceDescriptor, logger: Logger) async throws {
        let all =
            [
                runtimeTables, AuditTrail.migration, ChannelRegistry.migration, DeadLetterStore.migration,
                DeadLetterStore.inboxKeys, ReadModelRebuild.migration, AuditTrail.appendFunction,
            ] + descriptor.migrations.sorted { $0.version < $1.version }
        let schema = config.schema
        let configuration = try config.postgresConnection(user: config.pgOwnerUser, password: config.pgOwnerPassword)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch  where DatabaseErrors.sqlState(error)?.hasPrefix("28") == true {
            throw ConfigurationError(
                variable: "HPF_PG_OWNER_PASSWORD",
                reason: "Postgres refused the credentials of the schema owner \(config.pgOwnerUser); check HPF_PG_OWNER_USER and HPF_PG_OWNER_PASSWORD")
        }
        defer { Task { try? await connection.close() } }
        try await connection.query("SELECT pg_advisory_lock(hashtext(\(schema)))", logger: logger)
        do {
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            for migration in all where !applied.contains(migration.version) {
                logger.info("applying migration", metadata: ["schema": "\(schema)", "version": "\(migration.version)", "name": "\(migration.name)"])
                try await connection.query("BEGIN", logger: logger)
                for statement in statements(of: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            }
            try await connection.query("BEGIN", logger: logger)
            for statement in grants(schema: schema, role: config.pgUser, appendOnly: descriptor.appendOnlyTables + ["audit_records"]) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
            try await DateColumnChecks.add(on: connection, logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext(\(schema)))", logger: logger)
            throw error
        }
        try await connection.query("SELECT pg_advisory_unlock(hashtext(\(schema)))", logger: logger)
    }

    /// The service role's rights on its schema (re-applied at every start, so a table a
    /// migration adds is covered at once).
    static func grants(schema: String, role: String, appendOnly: [String]) -> [String] {
        let s = quoted(schema), r = quoted(role)
        return [
            "GRANT USAGE ON SCHEMA \(s) TO \(r)",
            "REVOKE CREATE ON SCHEMA \(s) FROM \(r)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \(s) TO \(r)",
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA \(s) FROM \(r)",
            "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA \(s) TO \(r)",
            "REVOKE INSERT, UPDATE, DELETE ON \(s).schema_migrations FROM \(r)",
        ] + appendOnly.map { "REVOKE UPDATE, DELETE ON \(s).\(quoted($0)) FROM \(r)" }
    }

    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// Splits a migration into statements: each ends with `;` at the end of a line, except
    /// inside a `$$` function body (the extended protocol takes one statement at a time).
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current: [Substring] = []
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            current.append(line)
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inBody, trimmed.hasSuffix(";") {
                statements.append(current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines).dropLastSemicolon())
                current = []
            }
        }
        let rest = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest.dropLastSemicolon()) }
        return statements.filter { !$0.isEmpty }
    }
}

private extension String {
    func dropLastSemicolon() -> String { hasSuffix(";") ? String(dropLast()) : self }
}

extension ServiceRuntime {
    /// Runs `body` with this runtime's database client running and its schema migrated, then
    /// shuts its producer down: for tools and tests that use a service's runtime without running
    /// the service (a bulk job's benchmark, a handler given events directly).
    public func whileMigrated(_ body: (ServiceRuntime) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await Migrator.migrate(config: config, descriptor: descriptor, logger: logger)
            try await body(self)
            await producer.shutdown()
        }
    }
}
