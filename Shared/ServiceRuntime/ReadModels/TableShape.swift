import Logging
import PostgresNIO

/// A read-model table's columns and primary key, from the catalogue: what the rebuild's swap
/// compares and copies row by row.
struct TableShape: Sendable {
    let table: String
    let columns: [String]
    let key: [String]

    static func read(_ table: String, schema: String, connection: PostgresConnection, logger: Logger) async throws -> TableShape {
        let qualified = "\(Migrator.quoted(schema)).\(Migrator.quoted(table))"
        var columns: [String] = []
        for try await name in try await connection.query(
            """
            SELECT attname::text FROM pg_attribute WHERE attrelid = \(qualified)::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
            ORDER BY attnum
            """, logger: logger
        ).decode(String.self) { columns.append(name) }
        var key: [String] = []
        for try await name in try await connection.query(
            """
            SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = \(qualified)::regclass AND i.indisprimary ORDER BY a.attnum
            """, logger: logger
        ).decode(String.self) { key.append(name) }
        guard !columns.isEmpty, !key.isEmpty else { throw RebuildFailure("read-model table \(table) has no primary key to compare rows by") }
        return TableShape(table: table, columns: columns, key: key)
    }

    /// Makes the live table (in `schema`) equal to the fresh one of the same name (in pg_temp):
    /// rows that differ are updated, missing ones inserted, extra ones deleted; the counts are the drift.
    func swap(schema: String, connection: PostgresConnection, logger: Logger) async throws -> ReadModelTableDiff {
        let q = Migrator.quoted
        let live = "\(schema).\(q(table))", fresh = "pg_temp.\(q(table))"
        let sameKey = key.map { "r.\(q($0)) = l.\(q($0))" }.joined(separator: " AND ")
        let liveRow = "ROW(" + columns.map { "l.\(q($0))" }.joined(separator: ", ") + ")"
        let freshRow = "ROW(" + columns.map { "r.\(q($0))" }.joined(separator: ", ") + ")"
        let assignments = columns.map { "\(q($0)) = r.\(q($0))" }.joined(separator: ", ")
        let list = columns.map(q).joined(separator: ", ")
        func count(_ sql: String) async throws -> Int64 {
            for try await n in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int64.self) { return n }
            return 0
        }
        let changed = try await count(
            """
            WITH x AS (UPDATE \(live) l SET \(assignments) FROM \(fresh) r WHERE \(sameKey) AND \(liveRow) IS DISTINCT FROM \(freshRow) RETURNING 1)
            SELECT count(*) FROM x
            """)
        let removed = try await count(
            """
            WITH x AS (DELETE FROM \(live) l WHERE NOT EXISTS (SELECT 1 FROM \(fresh) r WHERE \(sameKey)) RETURNING 1) SELECT count(*) FROM x
            """)
        let added = try await count(
            """
            WITH x AS (INSERT INTO \(live) (\(list)) SELECT \(columns.map { "r.\(q($0))" }.joined(separator: ", ")) FROM \(fresh) r
                       WHERE NOT EXISTS (SELECT 1 FROM \(live) l WHERE \(sameKey)) RETURNING 1)
            SELECT count(*) FROM x
            """)
        let rows = try await count("SELECT count(*) FROM \(fresh)")
        return ReadModelTableDiff(table: table, rows: rows, changed: changed, added: added, removed: removed)
    }
}
