import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The only way a balance changes: one immutable posting plus the guarded update of the
/// account's totals, in the caller's transaction. The guard (`balance_fen + amount >= 0`, and
/// the CHECK behind it) means no race can overdraw an account.
enum Ledger {
    enum Kind: String, Sendable {
        case contribution, subsidy, withdrawal, reversal, interest
        case transferIn = "transfer_in"
        case transferOut = "transfer_out"
        case loanRepayment = "loan_repayment"

        /// Which running total a posting of this kind moves.
        var totalColumn: String {
            switch self {
            case .contribution: "contributed_fen"
            case .transferIn: "transferred_in_fen"
            case .subsidy: "subsidy_fen"
            case .interest: "interest_fen"
            case .withdrawal, .transferOut, .loanRepayment, .reversal: "withdrawn_fen"
            }
        }
    }

    struct Posted: Sendable {
        let seq: Int64
        let balanceAfter: Fen
    }

    enum PostingError: Error {
        case insufficientBalance, unknownAccount
        /// A planned posting's statement answered with another sequence or balance than its lock
        /// had read: never expected (the row lock holds them), and the transaction rolls back.
        case movedUnderLock
    }

    struct Account {
        let status: String
        let balance: Fen
    }

    /// The account's status and balance, locked for the transaction: the lock debits, credits
    /// that depend on the status, and settlements take before they decide.
    static func lockAccount(_ number: String, in db: DatabaseContext) async throws -> Account? {
        let rows = try await db.query(
            "SELECT status, balance_fen FROM accounts WHERE account_number = \(number) FOR UPDATE")
        for try await (status, balance) in rows.decode((String, Int64).self) { return Account(status: status, balance: balance) }
        return nil
    }

    /// Posts `amount` dated `businessDate`. Any interest year that ended before that date (and
    /// before today) is settled first (the daily job may not have reached this account yet), and the posting's
    /// effect on the running 积数 is written with it, so interest never needs the postings again.
    /// `locked` is the account's state if the caller read it under the account's row lock in
    /// this transaction (`LockedAccount`); else it is read here, under the lock.
    static func post(
        account: String, kind: Kind, amount: Fen, reference: String, at instant: Date, businessDate: BusinessDate,
        locked: LedgerInterest.State? = nil, in db: DatabaseContext
    ) async throws -> Posted {
        let planned = try await plan(
            account: account, kind: kind, amount: amount, at: instant, businessDate: businessDate, locked: locked, in: db)
        return try await write(
            account: account, kind: kind, amount: amount, reference: reference, at: instant, businessDate: businessDate,
            accrual: planned.accrual, in: db)
    }

    /// A posting decided under the account's lock but not yet written: its interest state, and the
    /// sequence number and balance it will have (the lock holds them still). A caller that writes
    /// the posting in a statement of its own (`postingSQL`) puts them in its event before the
    /// statement runs, and checks the statement's answer against them.
    struct Planned: Sendable {
        let accrual: InterestAccrual
        let posted: Posted
    }

    /// `post` up to the write: the interest years due are settled, and the posting's effect on
    /// the running 积数 is computed.
    static func plan(
        account: String, kind: Kind, amount: Fen, at instant: Date, businessDate: BusinessDate,
        locked: LedgerInterest.State? = nil, in db: DatabaseContext
    ) async throws -> Planned {
        precondition(amount != 0, "a posting moves money")
        let loaded: LedgerInterest.State?
        if let locked { loaded = locked } else { loaded = try await LedgerInterest.load(account, in: db) }
        guard var state = loaded else { throw PostingError.unknownAccount }
        // Interest follows the ledger's business calendar, not a posting's own stamp: a channel's
        // or another service's clock a little ahead must neither close an interest year early
        // nor count days that have not begun (a closure today settles exactly to yesterday).
        let accrualDate = min(businessDate, db.today)
        try await LedgerInterest.settleDue(&state, before: accrualDate, in: db)
        try state.accrual.post(
            amount: amount, balanceBefore: state.balance, on: accrualDate, openedOn: state.openedOn,
            parameters: db.parameters)
        let balanceAfter = try Checked.add(state.balance, amount)
        guard balanceAfter >= 0 else { throw PostingError.insufficientBalance }
        return Planned(accrual: state.accrual, posted: Posted(seq: state.lastSeq + 1, balanceAfter: balanceAfter))
    }

    /// The one way a balance changes, as two CTEs over parameters $1-$12 (`bindings`): `moved`,
    /// the guarded update of the totals and the account's interest state, and `posting`, the
    /// posting it produces (`seq`, `balance_after_fen`; no row when the guard refused). `write`
    /// runs them alone; a deposit runs them with its own rows in one prepared statement.
    static func postingSQL(kind: Kind) -> String {
        // The column name comes from the fixed `Kind` table, never from input.
        """
        moved AS (
            UPDATE accounts SET balance_fen = balance_fen + $2, last_seq = last_seq + 1,
                \(kind.totalColumn) = \(kind.totalColumn) + $3, contribution_count = contribution_count + $4,
                interest_period_from = $10::date, balance_since = $11::date, interest_accrued = $12
            WHERE account_number = $1 AND balance_fen + $2 >= 0
            RETURNING last_seq, balance_fen),
        posting AS (
            INSERT INTO postings (account_number, seq, id, kind, amount_fen, balance_after_fen, at, business_date, reference)
            SELECT $1, last_seq, $5, $6, $2, balance_fen, $7, $8::date, $9 FROM moved
            RETURNING seq, balance_after_fen)
        """
    }

    /// The one statement that changes a balance: the guarded update of the totals and the
    /// account's interest state, and the posting it produces.
    static func write(
        account: String, kind: Kind, amount: Fen, reference: String, at instant: Date, businessDate: BusinessDate,
        accrual: InterestAccrual, in db: DatabaseContext
    ) async throws -> Posted {
        let bindings = try Self.bindings(
            account: account, kind: kind, amount: amount, reference: reference, at: instant, businessDate: businessDate, accrual: accrual)
        let rows = try await db.query(
            PostgresQuery(unsafeSQL: "WITH \(postingSQL(kind: kind)) SELECT seq, balance_after_fen FROM posting", binds: bindings))
        for try await (seq, balance) in rows.decode((Int64, Int64).self) { return Posted(seq: seq, balanceAfter: balance) }
        throw PostingError.insufficientBalance
    }

    /// The values of `postingSQL`'s $1-$12, in order.
    static func bindings(
        account: String, kind: Kind, amount: Fen, reference: String, at instant: Date, businessDate: BusinessDate,
        accrual: InterestAccrual, capacity: Int = 12
    ) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: capacity)
        bindings.append(account)
        bindings.append(amount)
        // The running total moves by the amount (a reversal takes back a withdrawal's).
        bindings.append(kind == .reversal ? -amount : abs(amount))
        bindings.append(kind == .contribution ? Int64(1) : Int64(0))
        bindings.append(UUID())
        bindings.append(kind.rawValue)
        bindings.append(instant)
        bindings.append(businessDate)
        bindings.append(reference)
        bindings.append(accrual.periodFrom)
        bindings.append(accrual.balanceSince)
        bindings.append(accrual.accrued)
        return bindings
    }
}
