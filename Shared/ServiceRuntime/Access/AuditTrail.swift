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

    /// Appends `entries` in order in one statement: the head row is locked once per batch, so
    /// the chain costs one commit per batch, not one per request (`AuditWriter` makes the batches).
    /// The writer stops waiting at `deadline` without waiting for this statement, so the server
    /// ends a late one itself: the append takes its locks (the table, then the head) each waiting
    /// at most the time left until `deadline` (`lock_timeout`, set inside the statement before its
    /// first lock), and once it holds them it gives up if that time has passed in all, before it
    /// writes anything; past the locks an append is a bounded computation over at most a batch.
    /// A late append therefore writes nothing and lets the head go, and late appends cannot pile up.
    ///
    /// The timeout, the head's lock, the chain's hashes, the records and the new head are one
    /// statement (`audit_append`, runtime migration 10006) and its own transaction: every audited
    /// request waits for its record, so each round trip here was one more in that request's
    /// answer (the loan benchmark showed an append per one or two decisions, each six
    /// statements; then four: BEGIN, the timeout, the append, COMMIT).
    func append(_ entries: [Entry], deadline: ContinuousClock.Instant) async throws {
        let texts = try entries.map { String(decoding: try HTTPJSON.encoder().encode($0), as: UTF8.self) }
        let logger = database.logger
        // A failed append closes its connection: its statement is prepared per connection, and one
        // whose preparation failed would stay failed there, losing the record of every later
        // request sent to it (as the old append did when cancelled while Postgres prepared it).
        try await database.withConnection(closingOnFailure: true) { connection in
            // What is left once the connection is leased; at least 100 ms: past the deadline the
            // statement fails at once rather than not at all.
            let (seconds, attoseconds) = (deadline - ContinuousClock.now).components
            let left = max(100, min(Int64(Int32.max), seconds * 1_000 + attoseconds / 1_000_000_000_000_000))
            var head: Int64?
            for try await seq in try await connection.execute(Append(records: texts, lockWaitMilliseconds: Int32(left)), logger: logger) {
                head = seq
            }
            // Without its head the chain cannot grow: loudly, never records silently dropped.
            guard head != nil else { throw AuditChainHeadMissing() }
        }
    }

    /// Extends the chain by `records`, in order, from the locked head (`audit_append`): record
    /// n's hash is SHA-256(hash(n-1) || seq as 8 big-endian bytes (`int8send`) || its UTF-8
    /// text), the formula `hash(previous:seq:record:)` gives and `verify` checks. Each step reads
    /// its record by position, so a batch of n costs n steps while the head is locked, not n * n.
    /// Returns the new head's seq: NULL means there was no head to extend. Prepared once per
    /// connection (the function's own statement is planned once per connection too).
    struct Append: PostgresPreparedStatement {
        static let sql = "SELECT audit_append($1::text[], $2::int)"
        typealias Row = Int64?
        let records: [String]
        let lockWaitMilliseconds: Int32

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(records)
            bindings.append(lockWaitMilliseconds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64?.self) }
    }

    /// The append as one function, so that its lock timeout and its work are one statement: a
    /// `SET LOCAL` needs a transaction and a statement of its own (two more round trips), while
    /// `set_config(…, true)` inside the statement holds for the locks the statement takes after it.
    static let appendFunction = Migration(
        10_006, "the audit append in one statement",
        """
        CREATE OR REPLACE FUNCTION audit_append(entries text[], lock_wait_ms int) RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            new_head bigint;
        BEGIN
            PERFORM set_config('lock_timeout', lock_wait_ms::text || 'ms', true);
            -- Both locks first (each wait bounded), then the time they took in all: a late append writes nothing.
            LOCK TABLE audit_records IN ROW EXCLUSIVE MODE;
            PERFORM 1 FROM audit_head h WHERE h.id = 1 FOR UPDATE;
            IF clock_timestamp() > statement_timestamp() + lock_wait_ms * interval '1 millisecond' THEN
                RAISE EXCEPTION 'audit append past its deadline' USING ERRCODE = '55P03';
            END IF;
            WITH RECURSIVE head AS (SELECT h.seq, h.hash FROM audit_head h WHERE h.id = 1 FOR UPDATE),
            chain (n, seq, prev, hash, r) AS (
                SELECT 0, head.seq, NULL::bytea, head.hash, NULL::text FROM head
                UNION ALL
                SELECT c.n + 1, c.seq + 1, c.hash, sha256(c.hash || int8send(c.seq + 1) || convert_to(entries[c.n + 1], 'UTF8')), entries[c.n + 1]
                FROM chain c WHERE c.n < cardinality(entries)),
            appended AS (INSERT INTO audit_records (seq, at, record, prev_hash, hash) SELECT c.seq, now(), c.r, c.prev, c.hash FROM chain c WHERE c.n > 0)
            UPDATE audit_head SET seq = last.seq, hash = last.hash
            FROM (SELECT c.seq, c.hash FROM chain c ORDER BY c.n DESC LIMIT 1) AS last WHERE audit_head.id = 1
            RETURNING audit_head.seq INTO new_head;
            RETURN new_head;
        END $$;
        """)

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
