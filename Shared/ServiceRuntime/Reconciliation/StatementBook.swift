import Contracts
import Foundation
import Logging
import Policy
import PostgresNIO

/// The imported statements of one service, the lines they listed and the discrepancies they
/// raised, in the service's own schema. A discrepancy is raised once per channel, kind and
/// reference, whatever statement repeats it, so its event is published once.
public enum StatementBook {
    /// The tables, for the reconciling service's migration.
    public static let tables = """
        CREATE TABLE channel_statements (
            statement_id uuid PRIMARY KEY,
            channel text NOT NULL,
            statement_date date NOT NULL,
            digest text NOT NULL UNIQUE,
            imported_at timestamptz NOT NULL DEFAULT now(),
            report jsonb NOT NULL
        );
        CREATE INDEX channel_statements_by_day ON channel_statements (channel, statement_date);
        -- The statement id an import of these bytes works under: an import that stopped part-way
        -- is resumed under the same id, so the events it raised point to the report that follows.
        CREATE TABLE statement_claims (
            digest text PRIMARY KEY,
            statement_id uuid NOT NULL
        );
        -- Every reference a statement of the channel has listed, with the first statement that did:
        -- what we hold and no statement lists is flagged.
        CREATE TABLE statement_lines (
            channel text NOT NULL,
            reference text NOT NULL,
            statement_id uuid NOT NULL,
            PRIMARY KEY (channel, reference)
        );
        CREATE TABLE statement_discrepancies (
            -- Raising order, the staff list's cursor.
            seq bigserial UNIQUE,
            channel text NOT NULL,
            kind text NOT NULL,
            reference text NOT NULL,
            statement_id uuid NOT NULL,
            line int,
            account_number text,
            our_amount_fen bigint,
            channel_amount_fen bigint,
            resolution text NOT NULL CHECK (resolution IN ('posted', 'settled', 'flagged')),
            code text,
            raised_at timestamptz NOT NULL DEFAULT now(),
            -- A later statement that listed what this flag said was missing.
            cleared_by uuid,
            PRIMARY KEY (channel, kind, reference)
        )
        """

    /// One import in progress: raises discrepancies under its statement's id.
    public struct Session: Sendable {
        public let statement: ChannelStatement
        public let statementId: UUID
        let eventType: EventType
        let runtime: ServiceRuntime

        /// Raises a discrepancy in the caller's transaction (with the posting or settlement it
        /// records, if any) and publishes its event, unless it was raised before: then the earlier
        /// one is returned and nothing is written. A flag that a later statement's line resolves
        /// (a deposit flagged for a closed account, posted once it could be) becomes that
        /// resolution, with its own event: a report never says "flagged" for money that moved.
        public func raise(
            _ kind: DiscrepancyKind, reference: String, line: Int?, accountNumber: String?, ourAmountFen: Fen?,
            channelAmountFen: Fen?, resolution: DiscrepancyResolution, code: String? = nil,
            in db: DatabaseContext
        ) async throws -> StatementReport.Item {
            let channel = statement.channel.rawValue
            let rows = try await db.query(
                """
                INSERT INTO statement_discrepancies (channel, kind, reference, statement_id, line, account_number, our_amount_fen,
                    channel_amount_fen, resolution, code)
                VALUES (\(channel), \(kind.rawValue), \(reference), \(statementId), \(line), \(accountNumber), \(ourAmountFen),
                    \(channelAmountFen), \(resolution.rawValue), \(code))
                ON CONFLICT (channel, kind, reference) DO UPDATE SET statement_id = EXCLUDED.statement_id, line = EXCLUDED.line,
                    account_number = EXCLUDED.account_number, our_amount_fen = EXCLUDED.our_amount_fen,
                    channel_amount_fen = EXCLUDED.channel_amount_fen, resolution = EXCLUDED.resolution, code = EXCLUDED.code,
                    raised_at = now(), cleared_by = NULL
                WHERE statement_discrepancies.resolution = 'flagged' AND EXCLUDED.resolution <> 'flagged'
                RETURNING 1
                """)
            var new = false
            for try await _ in rows { new = true }
            guard new else { return try await earlier(kind, reference: reference, line: line, in: db) }
            let id = statementId.uuidString.lowercased()
            let event = StatementDiscrepancy(
                statementId: id, channel: statement.channel, statementDate: statement.date, kind: kind,
                reference: reference, accountNumber: accountNumber, ourAmountFen: ourAmountFen,
                channelAmountFen: channelAmountFen, resolution: resolution, code: code)
            try await db.emit(eventType, event, account: accountNumber ?? reference)
            return StatementReport.Item(
                kind: kind, reference: reference, line: line, accountNumber: accountNumber, ourAmountFen: ourAmountFen,
                channelAmountFen: channelAmountFen, resolution: resolution, code: code, raisedBy: id)
        }

        /// The same, in a transaction of its own (a flag that moves no money).
        public func raise(
            _ kind: DiscrepancyKind, reference: String, line: Int?, accountNumber: String?, ourAmountFen: Fen?,
            channelAmountFen: Fen?, code: String? = nil
        ) async throws -> StatementReport.Item {
            try await runtime.transaction { db in
                try await raise(
                    kind, reference: reference, line: line, accountNumber: accountNumber, ourAmountFen: ourAmountFen,
                    channelAmountFen: channelAmountFen, resolution: .flagged, code: code, in: db)
            }
        }

        private func earlier(_ kind: DiscrepancyKind, reference: String, line: Int?, in db: DatabaseContext) async throws -> StatementReport.Item {
            let rows = try await db.query(
                """
                SELECT statement_id, account_number, our_amount_fen, channel_amount_fen, resolution, code FROM statement_discrepancies
                WHERE channel = \(statement.channel.rawValue) AND kind = \(kind.rawValue) AND reference = \(reference)
                """)
            for try await (id, account, ours, theirs, resolution, code) in rows.decode((UUID, String?, Int64?, Int64?, String, String?).self) {
                return StatementReport.Item(
                    kind: kind, reference: reference, line: line, accountNumber: account, ourAmountFen: ours,
                    channelAmountFen: theirs, resolution: try DiscrepancyResolution.stored(resolution, column: "statement_discrepancies.resolution"),
                    code: code, raisedBy: id.uuidString.lowercased())
            }
            throw Problem.unavailable("a discrepancy raised concurrently is not visible yet")
        }
    }

    /// A raised discrepancy as staff list it.
    public struct Raised: Codable, Sendable {
        public var seq: Int64
        public var channel: String
        public var kind: String
        public var reference: String
        public var statementId: String
        public var line: Int?
        public var accountNumber: String?
        public var ourAmountFen: Fen?
        public var channelAmountFen: Fen?
        public var resolution: String
        public var code: String?
        public var raisedAt: String
        /// The later statement that listed what this flag said was missing.
        public var clearedBy: String?
    }

    /// Discrepancies in raising order after `after`: only the open ones (flagged, not cleared)
    /// unless `all`, of one channel if given.
    static func raised(open: Bool, channel: String?, after: Int64, limit: Int, runtime: ServiceRuntime) async throws -> [Raised] {
        let rows = try await runtime.database.query(
            """
            SELECT seq, channel, kind, reference, statement_id, line, account_number, our_amount_fen, channel_amount_fen, resolution, code,
                raised_at, cleared_by
            FROM statement_discrepancies
            WHERE seq > \(after) AND (\(channel)::text IS NULL OR channel = \(channel))
              AND (NOT \(open) OR (resolution = 'flagged' AND cleared_by IS NULL))
            ORDER BY seq LIMIT \(limit)
            """)
        var items: [Raised] = []
        for try await row in rows {
            let (seq, channel, kind, reference, statement, line, account, ours, theirs, resolution, code, at, cleared) = try row.decode(
                (Int64, String, String, String, UUID, Int32?, String?, Int64?, Int64?, String, String?, Date, UUID?).self)
            items.append(
                Raised(
                    seq: seq, channel: channel, kind: kind, reference: reference, statementId: statement.uuidString.lowercased(),
                    line: line.map(Int.init), accountNumber: account, ourAmountFen: ours, channelAmountFen: theirs,
                    resolution: resolution, code: code, raisedAt: Instant.format(at), clearedBy: cleared?.uuidString.lowercased()))
        }
        return items
    }

    /// Runs one import of `digest` at a time: concurrent imports of the same bytes wait their
    /// turn under a session lock (held on a connection of its own, released if the process dies),
    /// and each finds the report of the one before. `body` gets the statement id to work under.
    static func exclusively<T: Sendable>(digest: String, runtime: ServiceRuntime, _ body: (UUID) async throws -> T) async throws -> T {
        try await runtime.database.withLeasedConnection { lock in
            let key = "hpf.statement:\(digest)"
            try await lock.query("SELECT pg_advisory_lock(hashtextextended(\(key), 0))", logger: runtime.logger)
            do {
                let rows = try await lock.query(
                    """
                    INSERT INTO statement_claims (digest, statement_id) VALUES (\(digest), \(UUID.timeOrdered()))
                    ON CONFLICT (digest) DO UPDATE SET digest = EXCLUDED.digest RETURNING statement_id
                    """, logger: runtime.logger)
                var id: UUID?
                for try await claimed in rows.decode(UUID.self) { id = claimed }
                guard let id else { throw Problem.unavailable("the statement could not be claimed") }
                let result = try await body(id)
                try await lock.query("SELECT pg_advisory_unlock(hashtextextended(\(key), 0))", logger: runtime.logger)
                return result
            } catch {
                _ = try? await lock.query("SELECT pg_advisory_unlock(hashtextextended(\(key), 0))", logger: runtime.logger)
                throw error
            }
        }
    }

    /// The report of a statement already imported with the same bytes.
    static func report(digest: String, runtime: ServiceRuntime) async throws -> StatementReport? {
        try await decodeReport(runtime.database.query("SELECT report::text FROM channel_statements WHERE digest = \(digest)"))
    }

    static func report(id: UUID, runtime: ServiceRuntime) async throws -> StatementReport? {
        try await decodeReport(runtime.database.query("SELECT report::text FROM channel_statements WHERE statement_id = \(id)"))
    }

    private static func decodeReport(_ rows: QueryRows) async throws -> StatementReport? {
        for try await text in rows.decode(String.self) { return try JSONDecoder().decode(StatementReport.self, from: Data(text.utf8)) }
        return nil
    }

    /// Notes every reference the statement lists (the first statement to list one keeps it), and
    /// clears the earlier flags that said one of them was missing. Returns how many it cleared.
    static func list(_ references: [String], session: Session, clearing kind: DiscrepancyKind) async throws -> Int {
        let channel = session.statement.channel.rawValue
        var cleared = 0
        for start in stride(from: 0, to: references.count, by: 1_000) {
            let chunk = Array(references[start..<min(start + 1_000, references.count)])
            try await session.runtime.transaction { db in
                try await db.query(
                    """
                    INSERT INTO statement_lines (channel, reference, statement_id)
                    SELECT \(channel), unnest(\(chunk)::text[]), \(session.statementId) ON CONFLICT DO NOTHING
                    """)
                let rows = try await db.query(
                    """
                    UPDATE statement_discrepancies SET cleared_by = \(session.statementId)
                    WHERE channel = \(channel) AND kind = \(kind.rawValue) AND reference = ANY(\(chunk)::text[]) AND cleared_by IS NULL
                    RETURNING 1
                    """)
                for try await _ in rows { cleared += 1 }
            }
        }
        return cleared
    }

    /// Keeps the report; a concurrent import of the same bytes that finished first wins, and its
    /// report is the answer.
    static func keep(_ report: StatementReport, runtime: ServiceRuntime) async throws -> (StatementReport, created: Bool) {
        let json = String(decoding: try HTTPJSON.encoder().encode(report), as: UTF8.self)
        let rows = try await runtime.database.query(
            """
            INSERT INTO channel_statements (statement_id, channel, statement_date, digest, report)
            VALUES (\(UUID(uuidString: report.statementId)), \(report.channel.rawValue), \(report.statementDate), \(report.digest),
                \(json)::jsonb)
            ON CONFLICT (digest) DO NOTHING RETURNING 1
            """)
        var created = false
        for try await _ in rows { created = true }
        if created { return (report, true) }
        guard let first = try await Self.report(digest: report.digest, runtime: runtime) else {
            throw Problem.unavailable("the statement's report is not visible yet")
        }
        return (first, false)
    }
}
