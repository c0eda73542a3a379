import Logging
import PostgresNIO

/// Every `date` column of a schema refuses a date outside 1800-01-01...9999-12-31 when it is
/// written: `BusinessDate` reads only those (a stored `infinity` or year 1 is a decoding error,
/// `UnknownStoredValue`), so a reader never meets one. Like the grants, this runs at every start
/// (`Migrator.migrate`, as the schema owner): a column a later migration adds is covered at its
/// first start, with no list to keep. Constraints are `NOT VALID`: added without reading the
/// table, so a deployment holding an old out-of-range row still starts, and every write from
/// then on is checked.
///
/// Adding a constraint locks its table (ACCESS EXCLUSIVE, however briefly): each table is done in
/// a transaction of its own that waits at most `lockTimeout` for the lock, so a rolling deploy
/// beside busy instances never queues their work behind it; a table it could not lock is logged
/// and done at a later start. Names are `<table>_<column>` cut to 40 bytes, an 8-character hash
/// of `table.column` and `_in_range` (unique, and within Postgres's 63 bytes); whether a column
/// is covered is read from the table's own constraints, not guessed from a name.
enum DateColumnChecks {
    static let lowest = "1800-01-01"
    static let highest = "9999-12-31"
    static let lockTimeout = "2s"

    /// The schema's date columns with no range check yet, and the statement that adds each one's.
    static let missing = """
        SELECT format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I BETWEEN DATE %L AND DATE %L) NOT VALID',
                      c.relname, left(c.relname || '_' || a.attname, 40) || '_' || left(md5(c.relname || '.' || a.attname), 8) || '_in_range',
                      a.attname, '\(lowest)', '\(highest)')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND c.relkind = 'r'
          AND a.atttypid = 'date'::regtype AND a.attnum > 0 AND NOT a.attisdropped
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.conkey = ARRAY[a.attnum]
                          AND pg_get_constraintdef(k.oid) LIKE '%\(lowest)%\(highest)%')
        ORDER BY c.relname, a.attname
        """

    /// Adds the missing checks on the owner's `connection` (outside any transaction).
    static func add(on connection: PostgresConnection, logger: Logger) async throws {
        var statements: [String] = []
        for try await statement in try await connection.query(PostgresQuery(unsafeSQL: missing), logger: logger).decode(String.self) {
            statements.append(statement)
        }
        for statement in statements {
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SET LOCAL lock_timeout = '\(unescaped: lockTimeout)'", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch  where DatabaseErrors.sqlState(error) == "55P03" {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                logger.warning("date range check not added: its table is busy; the next start adds it", metadata: ["statement": "\(statement)"])
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}
