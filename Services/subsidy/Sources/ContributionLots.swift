import Contracts
import Policy
import PostgresNIO
import ServiceRuntime

/// Contribution lots from the ledger's events: a contribution opens a lot (and may earn the
/// opening subsidy); a debit consumes the newest lots first (§3 decisions).
enum ContributionLots {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        let logger = runtime.logger
        return EventSubscription(
            consumerName: "contribution-lots", topics: [.contributionEvents],
            handlers: [
                .on(.contributionReceived, ContributionReceived.self) { event, connection in
                    let c = event.data
                    if c.firstContribution { try await OpeningSubsidy.lock(account: c.accountNumber, connection: connection, logger: logger) }
                    try await connection.query(
                        """
                        INSERT INTO lots (lot_id, account_number, started_on, sequence, original_fen, remaining_fen, first_contribution, next_anniversary)
                        VALUES (\(c.contributionId), \(c.accountNumber), \(c.paidOn), \(c.sequence), \(c.amountFen), \(c.amountFen),
                                \(c.firstContribution && c.origin == .channel), \(c.paidOn.adding(years: 1)))
                        ON CONFLICT (lot_id) DO NOTHING
                        """, logger: logger)
                    if c.firstContribution { try await OpeningSubsidy(runtime: runtime).evaluate(account: c.accountNumber, connection: connection) }
                },
                // §17: a transfer's principal is a lot like a contribution (it never earns the opening subsidy).
                .on(.transferInPosted, TransferInPosted.self) { event, connection in
                    let t = event.data
                    guard t.principalFen > 0 else { return }
                    try await connection.query(
                        """
                        INSERT INTO lots (lot_id, account_number, started_on, sequence, original_fen, remaining_fen, first_contribution, next_anniversary)
                        VALUES (\(t.lotId), \(t.accountNumber), \(t.postedOn), \(t.sequence), \(t.principalFen), \(t.principalFen),
                                false, \(t.postedOn.adding(years: 1)))
                        ON CONFLICT (lot_id) DO NOTHING
                        """, logger: logger)
                },
                .on(.debitPosted, DebitPosted.self) { event, connection in
                    if let shares = event.data.consumedLots {
                        try await apply(shares, sign: -1, account: event.data.accountNumber, connection: connection, logger: logger)
                    } else {
                        try await consume(event.data.amountFen, account: event.data.accountNumber, connection: connection, logger: logger)
                    }
                },
                .on(.debitReversed, DebitReversed.self) { event, connection in
                    try await apply(event.data.restoredLots, sign: 1, account: event.data.accountNumber, connection: connection, logger: logger)
                },
            ])
    }

    /// Applies the ledger's own account of which lots a debit took (sign -1) or a reversal gave
    /// back (sign +1), kept within 0 and the lot's original amount.
    static func apply(_ shares: [LotShare], sign: Int64, account: String, connection: PostgresConnection, logger: Logger) async throws {
        guard !shares.isEmpty else { return }
        try await connection.query(
            """
            UPDATE lots SET remaining_fen = greatest(0, least(lots.original_fen, lots.remaining_fen + \(sign) * u.amount))
            FROM unnest(\(shares.map(\.lotId))::text[], \(shares.map(\.amountFen))::bigint[]) AS u(id, amount)
            WHERE lots.lot_id = u.id AND lots.account_number = \(account)
            """, logger: logger)
    }

    /// Takes `amount` from the account's lots, newest first (debits that name no lots). More than the lots hold (for
    /// instance money that came from subsidies, which are not lots) simply empties them.
    static func consume(_ amount: Fen, account: String, connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query(
            """
            SELECT lot_id, remaining_fen FROM lots WHERE account_number = \(account) AND remaining_fen > 0
            ORDER BY started_on DESC, sequence DESC FOR UPDATE
            """, logger: logger)
        var left = amount
        var ids: [String] = []
        var remaining: [Int64] = []
        for try await (id, lotRemaining) in rows.decode((String, Int64).self) where left > 0 {
            let take = min(left, lotRemaining)
            left -= take
            ids.append(id)
            remaining.append(lotRemaining - take)
        }
        guard !ids.isEmpty else { return }
        try await connection.query(
            """
            UPDATE lots SET remaining_fen = u.remaining FROM unnest(\(ids)::text[], \(remaining)::bigint[]) AS u(id, remaining)
            WHERE lots.lot_id = u.id
            """, logger: logger)
    }
}
