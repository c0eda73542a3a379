import Contracts
import Crypto
import Foundation
import Hummingbird
import PostgresNIO

/// The append-only, tamper-evident audit trail of one service: every state-changing request of
/// an authenticated caller (staff actions, registry changes, imports, jobs run by hand,
/// withdrawals, loan decisions, consents, channel notifications) leaves a record of who (subject
/// and role), what (method and route), on which account, when, the request id and the outcome.
/// No personal data: a citizen is their keyed `personRef`.
///
/// Tamper evidence: record n stores `hash = SHA-256(hash(n-1) || seq as 8 big-endian bytes ||
/// record text)`; the chain head is one row locked by each append, so the chain is total. A
/// trigger refuses UPDATE, DELETE and TRUNCATE; an edit made around it (by an owner who drops
/// the trigger) breaks the chain at that record, which `GET /v1/audit/verification` reports.
public struct AuditTrail: Sendable {
    let database: Database

    /// What one record says (its JSON text is what is hashed, so it is stored as written).
    public struct Entry: Codable, Sendable, Equatable {
        public var at: String
        public var subject: String
        public var role: String
        public var action: String
        public var account: String?
        public var requestId: String
        public var status: Int
        public var code: String?
    }

    /// Appends `entries` in order in one transaction: the head row is locked once per batch, so
    /// the chain costs one commit per batch, not one per request (`AuditWriter` makes the batches).
    /// The writer stops waiting at `deadline` without waiting for this transaction, so the server
    /// ends a late one itself: the append may run only for the time left until `deadline`
    /// (`statement_timeout`, set before the head's lock). A late append therefore lets the head go
    /// by about the deadline, and late appends cannot pile up on it.
    ///
    /// The head's lock, the chain's hashes, the records and the new head are one statement
    /// (`extend`): every audited request waits for its record, so each round trip here was one
    /// more in that request's answer (the loan benchmark showed an append per one or two
    /// decisions, each six statements).
    func append(_ entries: [Entry], deadline: ContinuousClock.Instant) async throws {
        let texts = try entries.map { String(decoding: try HTTPJSON.encoder().encode($0), as: UTF8.self) }
        let logger = database.logger
        // A failed append closes its connection: its statements are prepared per connection, and
        // one whose preparation failed (cancelled by the timeout below while waiting for a lock)
        // would stay failed there, losing the record of every later request sent to it (tested).
        try await database.transaction(closingOnFailure: true) { connection in
            // At least 100 ms: past the deadline the statement fails at once rather than not at all.
            let (seconds, attoseconds) = (deadline - ContinuousClock.now).components
            let left = max(100, seconds * 1_000 + attoseconds / 1_000_000_000_000_000)
            for try await _ in try await connection.execute(StatementTimeout(milliseconds: Int(left)), logger: logger) {}
            var extended = false
            for try await _ in try await connection.execute(Extend(records: texts), logger: logger) { extended = true }
            // Without its head the chain cannot grow: loudly, never records silently dropped.
            guard extended else { throw AuditChainHeadMissing() }
        }
    }

    /// Extends the chain by `records`, in order, from the locked head: record n's hash is
    /// SHA-256(hash(n-1) || seq as 8 big-endian bytes (`int8send`) || its UTF-8 text), the formula
    /// `hash(previous:seq:record:)` gives and `verify` checks. Each step reads its record by
    /// position, so a batch of n costs n steps while the head is locked, not n * n. Returns the
    /// new head's seq: no row means there was no head to extend. Prepared once per connection:
    /// parsing and planning the recursive statement on every append cost Postgres about a third
    /// of an append's time (pgbench, one client: 0.78-0.83 ms an append unprepared, 0.51 prepared).
    struct Extend: PostgresPreparedStatement {
        static let sql = """
            WITH RECURSIVE head AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
            input AS (SELECT $1::text[] AS rs),
            chain (n, seq, prev, hash, r) AS (
                SELECT 0, seq, NULL::bytea, hash, NULL::text FROM head
                UNION ALL
                SELECT c.n + 1, c.seq + 1, c.hash, sha256(c.hash || int8send(c.seq + 1) || convert_to(input.rs[c.n + 1], 'UTF8')), input.rs[c.n + 1]
                FROM chain c, input WHERE c.n < cardinality(input.rs)),
            records AS (INSERT INTO audit_records (seq, at, record, prev_hash, hash) SELECT seq, now(), r, prev, hash FROM chain WHERE n > 0)
            UPDATE audit_head SET seq = last.seq, hash = last.hash
            FROM (SELECT seq, hash FROM chain ORDER BY n DESC LIMIT 1) AS last WHERE audit_head.id = 1
            RETURNING audit_head.seq
            """
        typealias Row = Int64
        let records: [String]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(records)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }
    }

    /// `statement_timeout` for the rest of this transaction, in milliseconds.
    struct StatementTimeout: PostgresPreparedStatement {
        static let sql = "SELECT set_config('statement_timeout', $1::text || 'ms', true)"
        typealias Row = String
        let milliseconds: Int

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(milliseconds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(String.self) }
    }

    /// The chain's head row is gone (only an owner's edit can remove it): nothing was appended.
    struct AuditChainHeadMissing: Error {}

    static func hash(previous: [UInt8], seq: Int64, record: String) -> [UInt8] {
        var input = previous
        withUnsafeBytes(of: seq.bigEndian) { input.append(contentsOf: $0) }
        input.append(contentsOf: Array(record.utf8))
        return Array(SHA256.hash(data: input))
    }

    public struct Verification: Codable, Sendable {
        public var verified: Bool
        public var records: Int
        /// The first record whose link or hash does not hold.
        public var brokenAtSeq: Int64?
    }

    /// Walks the chain from the first record up to the head read first: appends committed while
    /// it walks lie beyond that head (a record and the head move in one statement), so a busy
    /// service verifies as well as an idle one.
    func verify() async throws -> Verification {
        var head: (seq: Int64, hash: [UInt8]) = (0, [])
        for try await (seq, hash) in try await database.query("SELECT seq, hash FROM audit_head WHERE id = 1").decode((Int64, ByteBuffer).self) {
            head = (seq, Array(hash.readableBytesView))
        }
        // The whole chain streams through one leased connection (`Database.query` would hold it
        // all in memory at once).
        let (previous, expected) = try await database.withConnection { connection -> ([UInt8], Int64) in
            var previous = [UInt8](repeating: 0, count: 32)
            var expected: Int64 = 1
            let rows = try await connection.query(
                "SELECT seq, record, prev_hash, hash FROM audit_records WHERE seq <= \(head.seq) ORDER BY seq",
                logger: database.logger)
            for try await (seq, record, prevBytes, hashBytes) in rows.decode((Int64, String, ByteBuffer, ByteBuffer).self) {
                let prev = Array(prevBytes.readableBytesView)
                let hash = Array(hashBytes.readableBytesView)
                guard seq == expected, prev == previous, hash == Self.hash(previous: previous, seq: seq, record: record) else { break }
                previous = hash
                expected += 1
            }
            return (previous, expected)
        }
        guard expected - 1 == head.seq, head.seq == 0 || head.hash == previous else {
            return Verification(verified: false, records: Int(expected - 1), brokenAtSeq: expected)
        }
        return Verification(verified: true, records: Int(expected - 1), brokenAtSeq: nil)
    }

    // MARK: auditor routes

    struct RecordView: Codable {
        var seq: Int64
        var entry: Entry
        var hash: String
    }

    /// `GET /v1/audit?afterSeq=&limit=`: records in order, at most `limit` (default 100, up to 1000).
    @Sendable func list(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let query = QueryInput(request)
        let after = try query.integer("afterSeq", range: 0...InputRange.integer.upperBound) ?? 0
        let limit = try query.integer("limit", range: 1...1000) ?? 100
        var records: [RecordView] = []
        let rows = try await database.query("SELECT seq, record, hash FROM audit_records WHERE seq > \(after) ORDER BY seq LIMIT \(limit)")
        for try await (seq, record, hash) in rows.decode((Int64, String, ByteBuffer).self) {
            guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(record.utf8)) else { continue }
            records.append(RecordView(seq: seq, entry: entry, hash: Hex.encode(hash.readableBytesView)))
        }
        return try HTTPJSON.response(.ok, ["records": records])
    }

    /// `GET /v1/audit/verification`: whether the chain holds, and where it breaks.
    @Sendable func verification(_ request: Request, context: HPFRequestContext) async throws -> Response {
        try HTTPJSON.response(.ok, try await verify())
    }

    static let migration = Migration(
        10_001, "audit trail",
        """
        CREATE TABLE IF NOT EXISTS audit_records (
            seq bigint PRIMARY KEY,
            at timestamptz NOT NULL,
            record text NOT NULL,
            prev_hash bytea NOT NULL,
            hash bytea NOT NULL
        );
        CREATE TABLE IF NOT EXISTS audit_head (
            id int PRIMARY KEY CHECK (id = 1),
            seq bigint NOT NULL,
            hash bytea NOT NULL
        );
        INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex')) ON CONFLICT DO NOTHING;
        CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit records are append-only';
        END $$;
        DROP TRIGGER IF EXISTS audit_records_no_change ON audit_records;
        CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records
            FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
        DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records;
        CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
            FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();
        """)
}
