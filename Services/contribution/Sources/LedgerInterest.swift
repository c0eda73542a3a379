import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Deposit interest on one account, inside the caller's transaction and under the account's row
/// lock (POLICY.md decisions "Deposit interest"; `DepositInterest` holds the rule). The account
/// row carries the running 积数 (`interest_period_from`, `balance_since`, `interest_accrued`);
/// a settlement posts an `interest` posting and writes `interest-settled`.
enum LedgerInterest {
    /// What a settlement or a posting needs of the account, read under its lock.
    struct State: Sendable {
        let account: String
        var balance: Fen
        var lastSeq: Int64
        let openedOn: BusinessDate
        var accrual: InterestAccrual

        /// The state as an account row keeps it, or nil for an account from before interest was
        /// kept (`interest_accrued` null: `load` rebuilds it from the postings).
        static func kept(
            account: String, balance: Fen, lastSeq: Int64, openedOn: BusinessDate, periodFrom: BusinessDate,
            balanceSince: BusinessDate, accrued: Int64?
        ) -> State? {
            guard let accrued else { return nil }
            let accrual = InterestAccrual(periodFrom: periodFrom, balanceSince: balanceSince, accrued: accrued)
            return State(account: account, balance: balance, lastSeq: lastSeq, openedOn: openedOn, accrual: accrual)
        }
    }

    /// An interest year that an account from before interest was kept had crossed unsettled.
    struct Pending: Sendable {
        let periodFrom: BusinessDate
        let through: BusinessDate
        let interest: Fen
    }

    /// The account's state under its row lock. An account from before interest was kept
    /// (`interest_accrued` null) has its postings replayed once, and each interest year its history
    /// crossed is posted as it would have been (dated its 30 June, with its event), so every
    /// year's interest earned interest the next.
    static func load(_ account: String, in db: DatabaseContext) async throws -> State? {
        guard
            let (read, pending, rebuilt) = try await read(
                account, locking: true, parameters: db.parameters, in: db)
        else { return nil }
        var state = read
        for year in pending {
            let posted = try await Ledger.write(
                account: account, kind: .interest, amount: year.interest, reference: "interest:\(year.through)",
                at: db.runtime.clock.now, businessDate: year.through, accrual: state.accrual,
                in: db)
            state.balance = posted.balanceAfter
            state.lastSeq = posted.seq
            let settled = InterestSettled(
                accountNumber: account, occasion: .annual, periodFrom: year.periodFrom, periodThrough: year.through,
                interestFen: year.interest, postedOn: year.through, balanceAfterFen: posted.balanceAfter, sequence: posted.seq)
            try await db.emit(.interestSettled, settled, account: account)
        }
        if rebuilt { try await keep(state, in: db) }
        return state
    }

    /// The state as it stands, without the lock and writing nothing (the balance view); with the
    /// interest of any year a rebuilt account crossed and has not had posted yet.
    static func peek(
        _ account: String, parameters: PolicyParameters, in db: DatabaseContext
    ) async throws -> (State, unposted: Fen)? {
        guard
            let (state, pending, _) = try await read(
                account, locking: false, parameters: parameters, in: db)
        else { return nil }
        return (state, pending.reduce(0) { $0 + $1.interest })
    }

    private static func read(
        _ account: String, locking: Bool, parameters: PolicyParameters, in db: DatabaseContext
    ) async throws -> (State, [Pending], rebuilt: Bool)? {
        let rows = try await db.query(
            """
            SELECT balance_fen, last_seq, opened_on, interest_period_from, balance_since, interest_accrued
            FROM accounts WHERE account_number = \(account) \(unescaped: locking ? "FOR UPDATE" : "")
            """)
        for try await (balance, lastSeq, openedOn, periodFrom, since, accrued) in rows.decode(
            (Int64, Int64, BusinessDate, BusinessDate, BusinessDate, Int64?).self)
        {
            if let state = State.kept(
                account: account, balance: balance, lastSeq: lastSeq, openedOn: openedOn, periodFrom: periodFrom,
                balanceSince: since, accrued: accrued)
            {
                return (state, [], false)
            }
            let (accrual, pending) = try await rebuild(
                account, periodFrom: periodFrom, openedOn: openedOn, parameters: parameters,
                in: db)
            return (State(account: account, balance: balance, lastSeq: lastSeq, openedOn: openedOn, accrual: accrual), pending, true)
        }
        return nil
    }

    /// Writes the running sum as it stands (a rebuilt one, say), under the caller's row lock.
    static func keep(_ state: State, in db: DatabaseContext) async throws {
        try await db.query(
            """
            UPDATE accounts SET interest_period_from = \(state.accrual.periodFrom),
                balance_since = \(state.accrual.balanceSince), interest_accrued = \(state.accrual.accrued)
            WHERE account_number = \(state.account)
            """)
    }

    /// Replays an account's postings in date order (history as it happened, whatever order the
    /// ledger heard of it) through the same rule as live postings, settling
    /// each interest year as the history crosses its end (the interest joins the replayed balance
    /// from 1 July). Returns the running sum of the open year and the years to post.
    static func rebuild(
        _ account: String, periodFrom: BusinessDate, openedOn: BusinessDate, parameters: PolicyParameters,
        in db: DatabaseContext
    ) async throws -> (InterestAccrual, [Pending]) {
        var accrual = InterestAccrual(periodFrom: periodFrom, balanceSince: periodFrom, accrued: 0)
        var balance: Fen = 0
        var pending: [Pending] = []
        let rows = try await db.query(
            """
            SELECT amount_fen, business_date FROM postings WHERE account_number = \(account) ORDER BY business_date, seq
            """)
        for try await (amount, date) in rows.decode((Int64, BusinessDate).self) {
            for day in accrual.dueSettlements(before: date, parameters: parameters) {
                let from = accrual.periodFrom
                let interest = try accrual.settle(balance: balance, through: day, parameters: parameters)
                guard interest > 0 else { continue }
                pending.append(Pending(periodFrom: from, through: day, interest: interest))
                balance = try Checked.add(balance, interest)
            }
            try accrual.post(amount: amount, balanceBefore: balance, on: date, openedOn: openedOn, parameters: parameters)
            balance = try Checked.add(balance, amount)
        }
        return (accrual, pending)
    }

    /// Settles every interest year that ended before `date` (posted on its 30 June).
    static func settleDue(_ state: inout State, before date: BusinessDate, in db: DatabaseContext) async throws {
        for day in state.accrual.dueSettlements(before: date, parameters: db.parameters) {
            _ = try await settle(&state, through: day, postedOn: day, occasion: .annual, in: db)
        }
    }

    /// Before money leaves with the whole balance (closure, transfer out, full withdrawal):
    /// interest up to the day before `date`, posted on `date`. Returns the interest (0 if none).
    static func settleBefore(
        _ date: BusinessDate, _ state: inout State, occasion: InterestSettled.Occasion,
        in db: DatabaseContext
    ) async throws -> Fen {
        try await settleDue(&state, before: date, in: db)
        return try await settle(
            &state, through: date.adding(days: -1), postedOn: date, occasion: occasion, in: db)
    }

    private static func settle(
        _ state: inout State, through lastDay: BusinessDate, postedOn: BusinessDate, occasion: InterestSettled.Occasion,
        in db: DatabaseContext
    ) async throws -> Fen {
        let account = state.account
        let periodFrom = state.accrual.periodFrom
        let interest = try state.accrual.settle(balance: state.balance, through: lastDay, parameters: db.parameters)
        guard interest > 0 else {
            // Nothing to post; the next period starts all the same.
            try await keep(state, in: db)
            return 0
        }
        let posted = try await Ledger.write(
            account: account, kind: .interest, amount: interest, reference: "interest:\(lastDay)",
            at: db.runtime.clock.now, businessDate: postedOn, accrual: state.accrual,
            in: db)
        state.balance = posted.balanceAfter
        state.lastSeq = posted.seq
        let settled = InterestSettled(
            accountNumber: account, occasion: occasion, periodFrom: periodFrom, periodThrough: lastDay,
            interestFen: interest, postedOn: postedOn, balanceAfterFen: posted.balanceAfter, sequence: posted.seq)
        try await db.emit(.interestSettled, settled, account: account)
        return interest
    }
}
