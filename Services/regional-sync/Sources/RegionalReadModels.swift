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
        let logger = runtime.logger
        let accounts = EventSubscription(
            consumerName: "regional-accounts", topics: [.enrolmentEvents],
            handlers: [
                .on(.accountOpened, AccountOpened.self) { event, connection in
                    let a = event.data
                    try await connection.query(
                        """
                        INSERT INTO accounts (account_number, person_ref, opened_on) VALUES (\(a.accountNumber), \(a.personRef), \(a.openedOn))
                        ON CONFLICT (account_number) DO NOTHING
                        """, logger: logger)
                }
            ])
        let ledger = EventSubscription(
            consumerName: "regional-ledger", topics: [.contributionEvents],
            handlers: [
                .on(.contributionReceived, ContributionReceived.self) { event, connection in
                    let c = event.data
                    try await connection.query(
                        """
                        WITH months AS (
                            INSERT INTO account_months (account_number, month)
                            SELECT \(c.accountNumber), unnest(\(c.monthsCounted)::text[]) ON CONFLICT DO NOTHING)
                        INSERT INTO ledger_accounts (account_number, balance_fen) VALUES (\(c.accountNumber), \(c.balanceAfterFen))
                        ON CONFLICT (account_number) DO UPDATE SET balance_fen = excluded.balance_fen
                        """, logger: logger)
                },
                .on(.debitPosted, DebitPosted.self) { event, connection in
                    let d = event.data
                    // A closure or a transfer holds the account `closing` until it is settled or reversed.
                    try await ledgerState(d.accountNumber, balance: d.balanceAfterFen, status: d.closureReason == nil ? nil : "closing", connection, logger)
                    try await transfersOut.debited(d, connection: connection)
                },
                .on(.debitRefused, DebitRefused.self) { event, connection in
                    try await transfersOut.debitRefused(event.data, connection: connection)
                },
                .on(.debitReversed, DebitReversed.self) { event, connection in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: "active", connection, logger)
                },
                .on(.accountClosed, AccountClosed.self) { event, connection in
                    try await ledgerState(event.data.accountNumber, balance: 0, status: "closed", connection, logger)
                },
                .on(.subsidyCredited, SubsidyCredited.self) { event, connection in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: nil, connection, logger)
                },
                .on(.interestSettled, InterestSettled.self) { event, connection in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: nil, connection, logger)
                },
                .on(.transferInPosted, TransferInPosted.self) { event, connection in
                    try await ledgerState(event.data.accountNumber, balance: event.data.balanceAfterFen, status: nil, connection, logger)
                    try await transfersIn.credited(event.data, connection: connection)
                },
                .on(.transferInRefused, TransferInRefused.self) { event, connection in
                    try await transfersIn.creditRefused(event.data, connection: connection)
                },
            ])
        let withdrawals = EventSubscription(
            consumerName: "regional-withdrawals", topics: [.withdrawalEvents],
            handlers: [
                .on(.withdrawalRequested, WithdrawalRequested.self) { event, connection in
                    try await connection.query(
                        """
                        INSERT INTO open_withdrawals (withdrawal_id, account_number) VALUES (\(event.data.withdrawalId)::uuid, \(event.data.accountNumber))
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                },
                .on(.withdrawalPaid, WithdrawalPaid.self) { event, connection in
                    try await withdrawalEnded(event.data.withdrawalId, account: event.data.accountNumber, connection, logger)
                },
                .on(.withdrawalRejected, WithdrawalRejected.self) { event, connection in
                    try await withdrawalEnded(event.data.withdrawalId, account: event.data.accountNumber, connection, logger)
                },
            ])
        let loans = EventSubscription(
            consumerName: "regional-loans", topics: [.loanEvents],
            handlers: [
                .on(.loanDisbursed, LoanDisbursed.self) { event, connection in
                    try await connection.query(
                        """
                        INSERT INTO loans (loan_id, account_number) VALUES (\(event.data.loanId)::uuid, \(event.data.accountNumber)) ON CONFLICT DO NOTHING
                        """, logger: logger)
                },
                .on(.loanSettled, LoanSettled.self) { event, connection in
                    try await connection.query(
                        """
                        INSERT INTO loans (loan_id, account_number, settled) VALUES (\(event.data.loanId)::uuid, \(event.data.accountNumber), true)
                        ON CONFLICT (loan_id) DO UPDATE SET settled = true
                        """, logger: logger)
                },
            ])
        return [accounts, ledger, withdrawals, loans]
    }

    /// The latest balance and, when the event says so, the status (ledger events of an account arrive in order).
    static func ledgerState(_ account: String, balance: Fen, status: String?, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO ledger_accounts (account_number, status, balance_fen) VALUES (\(account), coalesce(\(status), 'active'), \(balance))
            ON CONFLICT (account_number) DO UPDATE SET balance_fen = excluded.balance_fen, status = coalesce(\(status), ledger_accounts.status)
            """, logger: logger)
    }

    /// A withdrawal's end may arrive before its request (different partitions are not ordered
    /// against each other): the row is written closed either way.
    static func withdrawalEnded(_ id: String, account: String, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO open_withdrawals (withdrawal_id, account_number, closed) VALUES (\(id)::uuid, \(account), true)
            ON CONFLICT (withdrawal_id) DO UPDATE SET closed = true
            """, logger: logger)
    }

    struct Holder: Sendable {
        let personRef: String
        let status: String
    }

    static func holder(_ account: String, connection: PostgresConnection, logger: Logger) async throws -> Holder? {
        let rows = try await connection.query(
            """
            SELECT a.person_ref, coalesce(l.status, 'active') FROM accounts a LEFT JOIN ledger_accounts l USING (account_number)
            WHERE a.account_number = \(account)
            """, logger: logger)
        for try await (person, status) in rows.decode((String, String).self) { return Holder(personRef: person, status: status) }
        return nil
    }

    /// The person's account here that is not closed (the newest, should there be several).
    static func account(of personRef: String, connection: PostgresConnection, logger: Logger) async throws -> String? {
        let rows = try await connection.query(
            """
            SELECT a.account_number FROM accounts a LEFT JOIN ledger_accounts l USING (account_number)
            WHERE a.person_ref = \(personRef) AND coalesce(l.status, 'active') <> 'closed' ORDER BY a.opened_on DESC LIMIT 1
            """, logger: logger)
        for try await number in rows.decode(String.self) { return number }
        return nil
    }

    static func loanFlags(_ account: String, connection: PostgresConnection, logger: Logger) async throws -> (had: Bool, unsettled: Bool) {
        let rows = try await connection.query(
            """
            SELECT count(*)::int, count(*) FILTER (WHERE NOT settled)::int FROM loans WHERE account_number = \(account)
            """, logger: logger)
        for try await (all, open) in rows.decode((Int, Int).self) { return (all > 0, open > 0) }
        return (false, false)
    }

    static func hasPendingWithdrawal(_ account: String, connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM open_withdrawals WHERE account_number = \(account) AND NOT closed LIMIT 1",
            logger: logger)
        for try await _ in rows { return true }
        return false
    }

    static func months(_ account: String, connection: PostgresConnection, logger: Logger) async throws -> [YearMonth] {
        var months: [YearMonth] = []
        for try await month in try await connection.query(
            "SELECT month FROM account_months WHERE account_number = \(account) ORDER BY month",
            logger: logger
        ).decode(YearMonth.self) {
            months.append(month)
        }
        return months
    }

    static func openedOn(_ account: String, connection: PostgresConnection, logger: Logger) async throws -> BusinessDate? {
        for try await day in try await connection.query(
            "SELECT opened_on FROM accounts WHERE account_number = \(account)",
            logger: logger
        ).decode(BusinessDate.self) {
            return day
        }
        return nil
    }
}
