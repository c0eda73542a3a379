import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Which contributions (subsidy lots, §3 decisions) a debit takes: the newest first. Money
/// beyond the lots came from subsidies or interest, which are not lots. What each debit took
/// is kept in `debit_lots`, so a reversal gives exactly that back.
enum LedgerLots {
    static func consume(_ amount: Fen, account: String, debit: UUID, in db: DatabaseContext) async throws -> [LotShare] {
        let rows = try await db.query(
            """
            SELECT contribution_id, unconsumed_fen FROM contributions
            WHERE account_number = \(account) AND unconsumed_fen > 0
            ORDER BY paid_on DESC, posting_seq DESC FOR UPDATE
            """)
        var left = amount
        var shares: [(UUID, Fen)] = []
        for try await (id, unconsumed) in rows.decode((UUID, Int64).self) where left > 0 {
            let take = min(left, unconsumed)
            left -= take
            shares.append((id, take))
        }
        guard !shares.isEmpty else { return [] }
        try await db.query(
            """
            WITH taken AS (
                SELECT * FROM unnest(\(shares.map(\.0))::uuid[], \(shares.map(\.1))::bigint[]) AS t(id, amount)),
            lots AS (
                INSERT INTO debit_lots (debit_id, contribution_id, amount_fen) SELECT \(debit), id, amount FROM taken)
            UPDATE contributions c SET unconsumed_fen = c.unconsumed_fen - taken.amount FROM taken WHERE c.contribution_id = taken.id
            """)
        return shares.map { LotShare(lotId: $0.0.uuidString.lowercased(), amountFen: $0.1) }
    }

    /// Gives a reversed debit's lots back.
    static func restore(debit: UUID, in db: DatabaseContext) async throws -> [LotShare] {
        let rows = try await db.query(
            """
            UPDATE contributions c SET unconsumed_fen = c.unconsumed_fen + d.amount_fen
            FROM debit_lots d WHERE d.debit_id = \(debit) AND c.contribution_id = d.contribution_id
            RETURNING c.contribution_id, d.amount_fen, c.paid_on, c.posting_seq
            """)
        var restored: [(UUID, Int64, BusinessDate, Int64)] = []
        for try await row in rows.decode((UUID, Int64, BusinessDate, Int64).self) { restored.append(row) }
        return restored.sorted { ($0.2, $0.3) > ($1.2, $1.3) }.map { LotShare(lotId: $0.0.uuidString.lowercased(), amountFen: $0.1) }
    }
}
