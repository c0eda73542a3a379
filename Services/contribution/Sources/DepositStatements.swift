import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Reconciliation of a channel's deposit statement (代收对账) with the ledger: a deposit the
/// channel collected and never notified is posted from its line, exactly as its notification
/// would have been (`ChannelDeposit`); one we posted that no statement of the channel lists is
/// flagged; a line that names a deposit we hold with another amount or account is flagged.
struct DepositStatements: StatementReconciler {
    let runtime: ServiceRuntime

    static let kind = ChannelStatement.Kind.deposits
    static let columns = ["channel_txn_id", "account_number", "amount_fen", "paid_at"]
    static let referenceColumn = "channel_txn_id"
    static let eventType = EventType.depositDiscrepancy
    static let unlistedKind = DiscrepancyKind.depositNotInStatement

    func check(_ row: ChannelStatement.Row) -> String? {
        let account = row["account_number"]
        return (1...32).contains(account.utf8.count) && account.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
            ? nil
            : "account_number must be 1 to 32 digits"
    }

    func reconcile(_ session: StatementBook.Session) async throws -> [StatementReport.Item] {
        let statement = session.statement
        let held = try await heldDeposits(channel: statement.channel, txnIds: statement.rows.map { $0["channel_txn_id"] })
        var items: [StatementReport.Item] = []
        for row in statement.rows {
            let txn = row["channel_txn_id"], account = row["account_number"]
            if let ours = held[txn] {
                guard ours.account != account || ours.amountFen != row.amountFen else { continue }
                items.append(
                    try await session.raise(
                        .amountMismatch, reference: txn, line: row.line, accountNumber: ours.account,
                        ourAmountFen: ours.amountFen, channelAmountFen: row.amountFen,
                        code: ours.account != account ? "account_differs" : "amount_differs"))
                continue
            }
            let deposit = ChannelDeposit(accountNumber: account, amountFen: row.amountFen, channel: statement.channel, channelTxnId: txn, paidAt: row.paidAt)
            do {
                let posted = try await runtime.idempotentTransaction { db -> StatementReport.Item? in
                    // The notification may have arrived since we looked: then the line matches.
                    guard try await !deposit.record(in: db).replay else { return nil }
                    return try await session.raise(
                        .depositNotNotified, reference: txn, line: row.line, accountNumber: account, ourAmountFen: nil,
                        channelAmountFen: row.amountFen, resolution: .posted, in: db)
                }
                if let posted { items.append(posted) }
            } catch let refused as Problem where refused.status.code < 500 {
                // The money is with us but the ledger cannot take it (an account closed since, a
                // payment below the minimum): staff refund or redirect it.
                items.append(
                    try await session.raise(
                        .depositNotNotified, reference: txn, line: row.line, accountNumber: account, ourAmountFen: nil,
                        channelAmountFen: row.amountFen, code: refused.code))
            }
        }
        return items
    }

    func unlisted(_ session: StatementBook.Session) async throws -> [StatementReport.Item] {
        let channel = session.statement.channel.rawValue
        let rows = try await runtime.database.query(
            """
            SELECT c.channel_txn_id, c.account_number, c.amount_fen FROM contributions c
            WHERE c.channel = \(channel) AND c.paid_on = \(session.statement.date)
              AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.channel = \(channel) AND l.reference = c.channel_txn_id)
            ORDER BY c.paid_at
            """)
        var unlisted: [(String, String, Fen)] = []
        for try await row in rows.decode((String, String, Int64).self) { unlisted.append(row) }
        var items: [StatementReport.Item] = []
        for (txn, account, amount) in unlisted {
            items.append(
                try await session.raise(
                    .depositNotInStatement, reference: txn, line: nil, accountNumber: account, ourAmountFen: amount,
                    channelAmountFen: nil))
        }
        return items
    }

    /// The deposits of the channel we hold under these transaction ids.
    private func heldDeposits(channel: PaymentChannel, txnIds: [String]) async throws -> [String: (account: String, amountFen: Fen)] {
        var held: [String: (account: String, amountFen: Fen)] = [:]
        for start in stride(from: 0, to: txnIds.count, by: 1_000) {
            let chunk = Array(txnIds[start..<min(start + 1_000, txnIds.count)])
            let rows = try await runtime.database.query(
                """
                SELECT channel_txn_id, account_number, amount_fen FROM contributions
                WHERE channel = \(channel.rawValue) AND channel_txn_id = ANY(\(chunk)::text[])
                """)
            for try await (txn, account, amount) in rows.decode((String, String, Int64).self) { held[txn] = (account, amount) }
        }
        return held
    }
}
