import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// What the transfer checks need to know of our accounts, from the other services' events only:
/// who holds each account and since when (enrolment), its status, balance and contribution
/// months (ledger), withdrawals in flight (withdrawal) and HPF loans (loan). Each topic fills its
/// own table, so no event waits for another topic's. The ledger's answers to the transfer sagas
/// arrive on the same ledger consumer, in the account's order.
enum RegionalReadModels {
    static func subscriptions(runtime: ServiceRuntime, transfersIn: TransfersIn, transfersOut: TransfersOut) -> [EventSubscription] {
        let accounts = EventSubscription(
            consumerName: "regional-accounts", topics: [.enrolmentEvents],
            handlers: [
                .on(.accountOpened, AccountOpened.self) { event, db in
                    let a = event.data
                    try await db.query(
                        """
                        INSERT INTO accounts (account_number, person_ref, opened_on) VALUES (\(a.accountNumber), \(a.personRef), \(a.openedOn))
                        ON CONFLICT (account_number) DO NOTHING
                        """)
                }
            ])
        let ledger = EventSubscription(
            consumerName: "regional-ledger", topics: [.contributionEvents],
            handlers: [
                // A poll's contributions in one statement (#15): each account once, with its last balance.
                .on(
                    .contributionReceived, ContributionReceived.self,
                    together: { events, db in
                        var balances = PerAccount<Fen>()
                        var monthAccounts: [String] = []
                        var months: [YearMonth] = []
                        for c in events.map(\.event.data) {
                            balances.keepLast(c.accountNumber, c.balanceAfterFen)
                            monthAccounts += Array(repeating: c.accountNumber, count: c.monthsCounted.count)
                            months += c.monthsCounted
                        }
                        let rows = balances.accounts
                        try await db.query(
                            """
                            WITH months AS (
                                INSERT INTO account_months (account_number, month)
                                SELECT * FROM unnest(\(monthAccounts)::text[], \(months)::text[]) ON CONFLICT DO NOTHING)
                            INSERT INTO ledger_accounts (account_number, balance_fen)
                            SELECT * FROM unnest(\(rows.map(\.account))::text[], \(rows.map(\.value))::bigint[])
                            ON CONFLICT (account_number) DO UPDATE SET balance_fen = excluded.balance_fen
                            """)
                    }),
                .on(.debitPosted, DebitPosted.self) { event, db in
                    let d = event.data
                    // A closure or a transfer holds the account `closing` until it is settled or reversed.
                    try await ledgerState(d.accountNumber, balance: d.balanceAfterFen, status: d.closureReason == nil ? nil : "closing", db)
                    try await transfersOut.debited(d, in: db)
                },
                .on(.debitRefused, DebitRefused.self) { event, db in
                    try await transfersOut.debitRefused(event.data, in: db)
                },
                .on(.debitReversed, DebitReversed.self) { event, db in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: "active", db)
                },
                .on(.accountClosed, AccountClosed.self) { event, db in
                    try await ledgerState(event.data.accountNumber, balance: 0, status: "closed", db)
                },
                .on(.subsidyCredited, SubsidyCredited.self) { event, db in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: nil, db)
                },
                .on(.interestSettled, InterestSettled.self) { event, db in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: nil, db)
                },
                .on(.transferInPosted, TransferInPosted.self) { event, db in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: nil, db)
                    try await transfersIn.credited(event.data, in: db)
                },
                .on(.transferInRefused, TransferInRefused.self) { event, db in
                    try await transfersIn.creditRefused(event.data, in: db)
                },
            ])
        let withdrawals = EventSubscription(
            consumerName: "regional-withdrawals", topics: [.withdrawalEvents],
            handlers: [
                .on(.withdrawalRequested, WithdrawalRequested.self) { event, db in
                    try await db.query(
                        """
                        INSERT INTO open_withdrawals (withdrawal_id, account_number) VALUES (\(event.data.withdrawalId)::uuid, \(event.data.accountNumber))
                        ON CONFLICT DO NOTHING
                        """)
                },
                .on(.withdrawalPaid, WithdrawalPaid.self) { event, db in
                    try await withdrawalEnded(event.data.withdrawalId, account: event.data.accountNumber, db)
                },
                .on(.withdrawalRejected, WithdrawalRejected.self) { event, db in
                    try await withdrawalEnded(event.data.withdrawalId, account: event.data.accountNumber, db)
                },
            ])
        let loans = EventSubscription(
            consumerName: "regional-loans", topics: [.loanEvents],
            handlers: [
                .on(.loanDisbursed, LoanDisbursed.self) { event, db in
                    try await db.query(
                        """
                        INSERT INTO loans (loan_id, account_number) VALUES (\(event.data.loanId)::uuid, \(event.data.accountNumber)) ON CONFLICT DO NOTHING
                        """)
                },
                .on(.loanSettled, LoanSettled.self) { event, db in
                    try await db.query(
                        """
                        INSERT INTO loans (loan_id, account_number, settled) VALUES (\(event.data.loanId)::uuid, \(event.data.accountNumber), true)
                        ON CONFLICT (loan_id) DO UPDATE SET settled = true
                        """)
                },
            ])
        return [accounts, ledger, withdrawals, loans]
    }

    /// The latest balance and, when the event says so, the status (ledger events of an account arrive in order).
    static func ledgerState(_ account: String, balance: Fen, status: String?, _ db: DatabaseContext) async throws {
        try await db.query(
            """
            INSERT INTO ledger_accounts (account_number, status, balance_fen) VALUES (\(account), coalesce(\(status), 'active'), \(balance))
            ON CONFLICT (account_number) DO UPDATE SET balance_fen = excluded.balance_fen, status = coalesce(\(status), ledger_accounts.status)
            """)
    }

    /// A withdrawal's end may arrive before its request (different partitions are not ordered
    /// against each other): the row is written closed either way.
    static func withdrawalEnded(_ id: String, account: String, _ db: DatabaseContext) async throws {
        try await db.query(
            """
            INSERT INTO open_withdrawals (withdrawal_id, account_number, closed) VALUES (\(id)::uuid, \(account), true)
            ON CONFLICT (withdrawal_id) DO UPDATE SET closed = true
            """)
    }

    struct Holder: Sendable {
        let personRef: String
        let status: String
    }

    static func holder(_ account: String, in db: DatabaseContext) async throws -> Holder? {
        let rows = try await db.query(
            """
            SELECT a.person_ref, coalesce(l.status, 'active') FROM accounts a LEFT JOIN ledger_accounts l USING (account_number)
            WHERE a.account_number = \(account)
            """)
        for try await (person, status) in rows.decode((String, String).self) { return Holder(personRef: person, status: status) }
        return nil
    }

    /// The person's account here that is not closed (the newest, should there be several).
    static func account(of personRef: String, in db: DatabaseContext) async throws -> String? {
        let rows = try await db.query(
            """
            SELECT a.account_number FROM accounts a LEFT JOIN ledger_accounts l USING (account_number)
            WHERE a.person_ref = \(personRef) AND coalesce(l.status, 'active') <> 'closed' ORDER BY a.opened_on DESC LIMIT 1
            """)
        for try await number in rows.decode(String.self) { return number }
        return nil
    }

    static func loanFlags(_ account: String, in db: DatabaseContext) async throws -> (had: Bool, unsettled: Bool) {
        let rows = try await db.query(
            """
            SELECT count(*)::int, count(*) FILTER (WHERE NOT settled)::int FROM loans WHERE account_number = \(account)
            """)
        for try await (all, open) in rows.decode((Int, Int).self) { return (all > 0, open > 0) }
        return (false, false)
    }

    static func hasPendingWithdrawal(_ account: String, in db: DatabaseContext) async throws -> Bool {
        let rows = try await db.query(
            "SELECT 1 FROM open_withdrawals WHERE account_number = \(account) AND NOT closed LIMIT 1")
        for try await _ in rows { return true }
        return false
    }

    static func months(_ account: String, in db: DatabaseContext) async throws -> [YearMonth] {
        var months: [YearMonth] = []
        for try await month in try await db.query(
            "SELECT month FROM account_months WHERE account_number = \(account) ORDER BY month"
        ).decode(YearMonth.self) {
            months.append(month)
        }
        return months
    }

    static func openedOn(_ account: String, in db: DatabaseContext) async throws -> BusinessDate? {
        for try await day in try await db.query(
            "SELECT opened_on FROM accounts WHERE account_number = \(account)"
        ).decode(BusinessDate.self) {
            return day
        }
        return nil
    }
}
