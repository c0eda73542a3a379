import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

extension ContributionPosting {
    /// `Insert` for several contributions of distinct accounts in one statement (a deposit
    /// group's, #15): each account's guarded update, its posting, its contribution row, its
    /// months and its event, as `Insert` writes one, over arrays with one element per deposit.
    /// Returns each account's posting (sequence, balance), checked against what was planned.
    /// Only channel deposits come here (no legacy id), each account once (an `UPDATE … FROM`
    /// updates a row once): `write(group:)` checks both before it runs.
    struct GroupInsert: PostgresPreparedStatement {
        static let sql = """
            WITH d AS (
                SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::timestamptz[], $5::date[], $6::text[], $7::date[], $8::date[],
                                     $9::bigint[], $10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[])
                    AS d(account, amount, posting_id, at, business_date, reference, period_from, balance_since, accrued,
                         contribution_id, origin, channel, txn, fingerprint)),
            moved AS (
                UPDATE accounts a SET balance_fen = a.balance_fen + d.amount, last_seq = a.last_seq + 1,
                    \(Ledger.Kind.contribution.totalColumn) = a.\(Ledger.Kind.contribution.totalColumn) + d.amount,
                    contribution_count = a.contribution_count + 1,
                    interest_period_from = d.period_from, balance_since = d.balance_since, interest_accrued = d.accrued
                FROM d WHERE a.account_number = d.account AND a.balance_fen + d.amount >= 0
                RETURNING a.account_number, a.last_seq, a.balance_fen),
            posting AS (
                INSERT INTO postings (account_number, seq, id, kind, amount_fen, balance_after_fen, at, business_date, reference)
                SELECT d.account, m.last_seq, d.posting_id, '\(Ledger.Kind.contribution.rawValue)', d.amount, m.balance_fen, d.at,
                    d.business_date, d.reference
                FROM d JOIN moved m ON m.account_number = d.account
                RETURNING account_number, seq, balance_after_fen),
            months AS (
                INSERT INTO contribution_months (account_number, month)
                SELECT * FROM unnest($15::text[], $16::text[]) ON CONFLICT DO NOTHING),
            contribution AS (
                INSERT INTO contributions (contribution_id, account_number, origin, channel, channel_txn_id, legacy_id, amount_fen,
                    paid_at, paid_on, fingerprint, posting_seq, balance_after_fen, unconsumed_fen)
                SELECT d.contribution_id, d.account, d.origin, d.channel, d.txn, NULL, d.amount, d.at, d.business_date, d.fingerprint,
                    p.seq, p.balance_after_fen, d.amount
                FROM d JOIN posting p ON p.account_number = d.account),
            event AS (\(Outbox.Columns.insertSQL(from: 17)))
            SELECT account_number, seq, balance_after_fen FROM posting
            """
        typealias Row = (String, Int64, Int64)

        /// Deposits the statement cannot write together (an account twice, not a channel's).
        struct Unsuitable: Error {}

        let group: [Prepared]

        init(_ group: [Prepared]) { self.group = group }

        func makeBindings() throws -> PostgresBindings {
            let inserts = group.map(\.insert)
            var bindings = PostgresBindings(capacity: 23)
            bindings.append(inserts.map(\.input.accountNumber))
            bindings.append(inserts.map(\.input.amountFen))
            bindings.append(inserts.map { _ in UUID() })
            bindings.append(inserts.map(\.input.paidAt))
            bindings.append(inserts.map(\.paidOn))
            bindings.append(inserts.map(\.reference))
            bindings.append(inserts.map(\.planned.accrual.periodFrom))
            bindings.append(inserts.map(\.planned.accrual.balanceSince))
            bindings.append(inserts.map(\.planned.accrual.accrued))
            bindings.append(inserts.map(\.id))
            bindings.append(inserts.map(\.input.origin.rawValue))
            bindings.append(inserts.map { $0.input.channel?.rawValue ?? "" })
            bindings.append(inserts.map { $0.input.channelTxnId ?? "" })
            bindings.append(inserts.map(\.input.fingerprint))
            bindings.append(inserts.flatMap { insert in insert.months.map { _ in insert.input.accountNumber } })
            bindings.append(inserts.flatMap(\.months))
            var events = Outbox.Columns()
            for insert in inserts { events.append(insert.event) }
            events.appendBindings(to: &bindings)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }
}
