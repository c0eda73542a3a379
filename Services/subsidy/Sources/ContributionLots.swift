import Contracts
import Policy
import PostgresNIO
import ServiceRuntime

/// Contribution lots from the ledger's events: a contribution opens a lot (and may earn the
/// opening subsidy); a debit consumes the newest lots first (§3 decisions).
enum ContributionLots {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        return EventSubscription(
            consumerName: "contribution-lots", topics: [.contributionEvents],
            handlers: [
                // A poll's contributions: their lots in one statement (#15), but for a first
                // contribution, which opens its lot alone, in its place, to weigh the opening subsidy.
                .on(
                    .contributionReceived, ContributionReceived.self,
                    together: { events, db in
                        var waiting: [ContributionReceived] = []
                        for member in events {
                            let c = member.event.data
                            guard c.firstContribution else {
                                waiting.append(c)
                                continue
                            }
                            try await openLots(waiting, in: db)
                            waiting = []
                            // Under its own trace: the grant it may earn continues its deposit's trace.
                            try await member.alone { db in
                                try await OpeningSubsidy.lock(account: c.accountNumber, in: db)
                                try await openLots([c], in: db)
                                try await OpeningSubsidy.evaluate(account: c.accountNumber, in: db)
                            }
                        }
                        try await openLots(waiting, in: db)
                    }),
                // §17: a transfer's principal is a lot like a contribution (it never earns the opening subsidy).
                .on(.transferInPosted, TransferInPosted.self) { event, db in
                    let t = event.data
                    guard t.principalFen > 0 else { return }
                    try await db.query(
                        """
                        INSERT INTO lots (lot_id, account_number, started_on, sequence, original_fen, remaining_fen, first_contribution, next_anniversary)
                        VALUES (\(t.lotId), \(t.accountNumber), \(t.postedOn), \(t.sequence), \(t.principalFen), \(t.principalFen),
                                false, \(t.postedOn.adding(years: 1)))
                        ON CONFLICT (lot_id) DO NOTHING
                        """)
                },
                .on(.debitPosted, DebitPosted.self) { event, db in
                    if let shares = event.data.consumedLots {
                        try await apply(shares, sign: -1, account: event.data.accountNumber, in: db)
                    } else {
                        try await consume(event.data.amountFen, account: event.data.accountNumber, in: db)
                    }
                },
                .on(.debitReversed, DebitReversed.self) { event, db in
                    try await apply(event.data.restoredLots, sign: 1, account: event.data.accountNumber, in: db)
                },
            ])
    }

    /// A lot for each contribution (a redelivered one's lot is already there).
    static func openLots(_ contributions: [ContributionReceived], in db: DatabaseContext) async throws {
        guard !contributions.isEmpty else { return }
        try await db.query(
            """
            INSERT INTO lots (lot_id, account_number, started_on, sequence, original_fen, remaining_fen, first_contribution, next_anniversary)
            SELECT id, account, paid_on, sequence, amount, amount, first_contribution, next_anniversary
            FROM unnest(\(contributions.map(\.contributionId))::text[], \(contributions.map(\.accountNumber))::text[],
                        \(contributions.map(\.paidOn))::date[], \(contributions.map(\.sequence))::bigint[], \(contributions.map(\.amountFen))::bigint[],
                        \(contributions.map { $0.firstContribution && $0.origin == .channel })::boolean[],
                        \(contributions.map { $0.paidOn.adding(years: 1) })::date[])
                AS c(id, account, paid_on, sequence, amount, first_contribution, next_anniversary)
            ON CONFLICT (lot_id) DO NOTHING
            """)
    }

    /// Applies the ledger's own account of which lots a debit took (sign -1) or a reversal gave
    /// back (sign +1), kept within 0 and the lot's original amount.
    static func apply(_ shares: [LotShare], sign: Int64, account: String, in db: DatabaseContext) async throws {
        guard !shares.isEmpty else { return }
        try await db.query(
            """
            UPDATE lots SET remaining_fen = greatest(0, least(lots.original_fen, lots.remaining_fen + \(sign) * u.amount))
            FROM unnest(\(shares.map(\.lotId))::text[], \(shares.map(\.amountFen))::bigint[]) AS u(id, amount)
            WHERE lots.lot_id = u.id AND lots.account_number = \(account)
            """)
    }

    /// Takes `amount` from the account's lots, newest first (debits that name no lots). More than the lots hold (for
    /// instance money that came from subsidies, which are not lots) simply empties them.
    static func consume(_ amount: Fen, account: String, in db: DatabaseContext) async throws {
        let rows = try await db.query(
            """
            SELECT lot_id, remaining_fen FROM lots WHERE account_number = \(account) AND remaining_fen > 0
            ORDER BY started_on DESC, sequence DESC FOR UPDATE
            """)
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
        try await db.query(
            """
            UPDATE lots SET remaining_fen = u.remaining FROM unnest(\(ids)::text[], \(remaining)::bigint[]) AS u(id, remaining)
            WHERE lots.lot_id = u.id
            """)
    }
}
