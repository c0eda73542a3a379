import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Reconciliation of a channel's payout statement (代付对账) with the withdrawals: a payout the
/// channel made whose confirmation never reached us is settled as paid from its line (once:
/// the late confirmation is then a replay); one we hold as paid by this channel that no
/// statement of the channel lists is flagged, and so is a line for a payout we never asked for,
/// with another amount, or that we had already reversed as failed (the money went out twice).
struct PayoutStatements: StatementReconciler {
    let runtime: ServiceRuntime

    static let kind = ChannelStatement.Kind.payouts
    static let columns = ["payout_id", "channel_ref", "amount_fen", "paid_at"]
    static let referenceColumn = "payout_id"
    static let eventType = EventType.payoutDiscrepancy
    static let unlistedKind = DiscrepancyKind.payoutNotInStatement

    func check(_ row: ChannelStatement.Row) -> String? {
        let id = row["payout_id"]
        return UUID(uuidString: id) != nil && id == id.lowercased() ? nil : "payout_id must be the payout id as we sent it (a lowercase UUID)"
    }

    struct Held: Sendable {
        let account: String
        let amountFen: Fen
        let stage: Withdrawals.Stage
        /// The channel whose confirmation (or statement) settled it, and its reference.
        let channel: String?
        let channelRef: String?
        /// The day the instruction went to the channel: it cannot have paid before.
        let requestedOn: BusinessDate?
    }

    func reconcile(_ session: StatementBook.Session) async throws -> [StatementReport.Item] {
        let statement = session.statement
        let held = try await heldPayouts(statement.rows.compactMap { UUID(uuidString: $0["payout_id"]) })
        var items: [StatementReport.Item] = []
        for row in statement.rows {
            let reference = row["payout_id"]
            guard let payoutId = UUID(uuidString: reference), let ours = held[payoutId] else {
                items.append(
                    try await session.raise(
                        .unknownPayout, reference: reference, line: row.line, accountNumber: nil, ourAmountFen: nil,
                        channelAmountFen: row.amountFen))
                continue
            }
            if let code = mismatch(ours, row, channel: statement.channel.rawValue) {
                items.append(
                    try await session.raise(
                        .amountMismatch, reference: reference, line: row.line, accountNumber: ours.account,
                        ourAmountFen: ours.amountFen, channelAmountFen: row.amountFen, code: code))
                continue
            }
            guard ours.stage == .paying else { continue }
            let settled = try await runtime.idempotentTransaction { db -> StatementReport.Item? in
                // Under the lock: a confirmation may have settled it since we looked.
                guard let current = try await Withdrawals.lock(payout: payoutId, in: db),
                    current.stage == .paying
                else { return nil }
                _ = try await PayoutConfirmations.paid(
                    current, channelRef: row["channel_ref"], channel: statement.channel.rawValue,
                    paidOn: BusinessDate.of(row.paidAt), in: db)
                return try await session.raise(
                    .payoutNotConfirmed, reference: reference, line: row.line, accountNumber: ours.account,
                    ourAmountFen: ours.amountFen, channelAmountFen: row.amountFen, resolution: .settled, in: db)
            }
            if let settled { items.append(settled) }
        }
        return items
    }

    /// Why a line for a payout we hold does not match it, or nil. Another channel having
    /// confirmed it is a mismatch too (two channels say they paid it), and so is a payment dated
    /// before the instruction or under another reference than the channel confirmed.
    private func mismatch(_ ours: Held, _ row: ChannelStatement.Row, channel: String) -> String? {
        switch ours.stage {
        case .reversing, .rejected: return "paid_after_failure"
        case .requested: return "not_sent"
        case .paid where ours.channel != nil && ours.channel != channel: return "paid_by_another_channel"
        case .paying, .paid:
            if ours.amountFen != row.amountFen { return "amount_differs" }
            if let requested = ours.requestedOn, BusinessDate.of(row.paidAt) < requested { return "paid_before_instruction" }
            if ours.stage == .paid, let reference = ours.channelRef, reference != row["channel_ref"] { return "channel_ref_differs" }
            return nil
        }
    }

    func unlisted(_ session: StatementBook.Session) async throws -> [StatementReport.Item] {
        let channel = session.statement.channel.rawValue
        let rows = try await runtime.database.query(
            """
            SELECT w.payout_id::text, w.account_number, coalesce(w.amount_fen, 0) FROM withdrawals w
            WHERE w.stage = 'paid' AND w.payout_channel = \(channel) AND w.paid_on = \(session.statement.date)
              AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.channel = \(channel) AND l.reference = w.payout_id::text)
            ORDER BY w.payout_id
            """)
        var unlisted: [(String, String, Fen)] = []
        for try await row in rows.decode((String, String, Int64).self) { unlisted.append(row) }
        var items: [StatementReport.Item] = []
        for (payout, account, amount) in unlisted {
            items.append(
                try await session.raise(
                    .payoutNotInStatement, reference: payout, line: nil, accountNumber: account, ourAmountFen: amount,
                    channelAmountFen: nil))
        }
        return items
    }

    private func heldPayouts(_ ids: [UUID]) async throws -> [UUID: Held] {
        var held: [UUID: Held] = [:]
        for start in stride(from: 0, to: ids.count, by: 1_000) {
            let chunk = Array(ids[start..<min(start + 1_000, ids.count)])
            let rows = try await runtime.database.query(
                """
                SELECT payout_id, account_number, coalesce(amount_fen, 0), stage, payout_channel, channel_ref, payout_requested_on
                FROM withdrawals WHERE payout_id = ANY(\(chunk)::uuid[])
                """)
            for try await (id, account, amount, stage, channel, reference, requested) in rows.decode(
                (UUID, String, Int64, String, String?, String?, BusinessDate?).self)
            {
                held[id] = Held(
                    account: account, amountFen: amount, stage: try Withdrawals.Stage.stored(stage, column: "withdrawals.stage"),
                    channel: channel, channelRef: reference, requestedOn: requested)
            }
        }
        return held
    }
}
