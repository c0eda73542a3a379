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
        -- Every reference a statement of the channel has listed, with the first statement that did:
        -- what we hold and no statement lists is flagged.
        CREATE TABLE statement_lines (
            channel text NOT NULL,
            reference text NOT NULL,
            statement_id uuid NOT NULL,
            PRIMARY KEY (channel, reference)
        );
        CREATE TABLE statement_discrepancies (
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
        /// one is returned and nothing is written.
        public func raise(_ kind: DiscrepancyKind, reference: String, line: Int?, accountNumber: String?, ourAmountFen: Fen?,
                          channelAmountFen: Fen?, resolution: DiscrepancyResolution, code: String? = nil,
                          on connection: PostgresConnection) async throws -> StatementReport.Item {
            let channel = statement.channel.rawValue
            let rows = try await connection.query("""
                INSERT INTO statement_discrepancies (channel, kind, reference, statement_id, line, account_number, our_amount_fen,
                    channel_amount_fen, resolution, code)
                VALUES (\(channel), \(kind.rawValue), \(reference), \(statementId), \(line), \(accountNumber), \(ourAmountFen),
                    \(channelAmountFen), \(resolution.rawValue), \(code))
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: runtime.logger)
            var new = false
            for try await _ in rows { new = true }
            guard new else { return try await earlier(kind, reference: reference, line: line, connection: connection) }
            let id = statementId.uuidString.lowercased()
            let event = StatementDiscrepancy(statementId: id, channel: statement.channel, statementDate: statement.date, kind: kind,
                                             reference: reference, accountNumber: accountNumber, ourAmountFen: ourAmountFen,
                                             channelAmountFen: channelAmountFen, resolution: resolution, code: code)
            try await runtime.emit(eventType, event, account: accountNumber ?? reference, on: connection)
            return StatementReport.Item(kind: kind, reference: reference, line: line, accountNumber: accountNumber, ourAmountFen: ourAmountFen,
                                        channelAmountFen: channelAmountFen, resolution: resolution, code: code, raisedBy: id)
        }

        /// The same, in a transaction of its own (a flag that moves no money).
        public func raise(_ kind: DiscrepancyKind, reference: String, line: Int?, accountNumber: String?, ourAmountFen: Fen?,
                          channelAmountFen: Fen?, code: String? = nil) async throws -> StatementReport.Item {
            try await runtime.transaction { connection in
                try await raise(kind, reference: reference, line: line, accountNumber: accountNumber, ourAmountFen: ourAmountFen,
                                channelAmountFen: channelAmountFen, resolution: .flagged, code: code, on: connection)
            }
        }

        private func earlier(_ kind: DiscrepancyKind, reference: String, line: Int?, connection: PostgresConnection) async throws -> StatementReport.Item {
            let rows = try await connection.query("""
                SELECT statement_id, account_number, our_amount_fen, channel_amount_fen, resolution, code FROM statement_discrepancies
                WHERE channel = \(statement.channel.rawValue) AND kind = \(kind.rawValue) AND reference = \(reference)
                """, logger: runtime.logger)
            for try await (id, account, ours, theirs, resolution, code) in rows.decode((UUID, String?, Int64?, Int64?, String, String?).self) {
                return StatementReport.Item(kind: kind, reference: reference, line: line, accountNumber: account, ourAmountFen: ours,
                                            channelAmountFen: theirs, resolution: try DiscrepancyResolution.stored(resolution, column: "statement_discrepancies.resolution"),
                                            code: code, raisedBy: id.uuidString.lowercased())
            }
            throw Problem.unavailable("a discrepancy raised concurrently is not visible yet")
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
            try await session.runtime.transaction { connection in
                try await connection.query("""
                    INSERT INTO statement_lines (channel, reference, statement_id)
                    SELECT \(channel), unnest(\(chunk)::text[]), \(session.statementId) ON CONFLICT DO NOTHING
                    """, logger: session.runtime.logger)
                let rows = try await connection.query("""
                    UPDATE statement_discrepancies SET cleared_by = \(session.statementId)
                    WHERE channel = \(channel) AND kind = \(kind.rawValue) AND reference = ANY(\(chunk)::text[]) AND cleared_by IS NULL
                    RETURNING 1
                    """, logger: session.runtime.logger)
                for try await _ in rows { cleared += 1 }
            }
        }
        return cleared
    }

    /// Keeps the report; a concurrent import of the same bytes that finished first wins, and its
    /// report is the answer.
    static func keep(_ report: StatementReport, runtime: ServiceRuntime) async throws -> (StatementReport, created: Bool) {
        let json = String(decoding: try HTTPJSON.encoder().encode(report), as: UTF8.self)
        let rows = try await runtime.database.query("""
            INSERT INTO channel_statements (statement_id, channel, statement_date, digest, report)
            VALUES (\(UUID(uuidString: report.statementId)), \(report.channel.rawValue), \(report.statementDate.description)::date, \(report.digest),
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
