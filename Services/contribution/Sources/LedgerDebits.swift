import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The ledger's part of the debit sagas, driven by other services' events only: debit or refuse
/// a requested withdrawal (§4, §8, §16), loan repayment from the balance or transfer out to a
/// partner city (§17, the whole balance), settle it once paid or confirmed (closing the account
/// for a closure or transfer), or reverse it when the payout or the transfer failed. Each step
/// is decided under the account's row lock, and the `debits` row makes every step happen at most once.
enum LedgerDebits {
    /// A debit some service asked for; `id` is that service's id for it (withdrawal, repayment).
    struct Request: Sendable {
        var id: String
        var account: String
        /// Nil for a closure: the whole balance.
        var amount: Fen?
        var closureReason: ClosureReason?
        var kind: Ledger.Kind
        var eventKind: DebitPosted.Kind

        init(_ w: WithdrawalRequested) {
            id = w.withdrawalId
            account = w.accountNumber
            amount = w.amountFen
            closureReason = w.reason == .closure ? (w.closureReason ?? .leavingCity) : nil
            kind = .withdrawal
            eventKind = .withdrawal
        }

        init(_ t: TransferOutStep) {
            id = t.transferId
            account = t.accountNumber
            amount = nil
            closureReason = .transfer
            kind = .transferOut
            eventKind = .transferOut
        }

        init(_ r: RepaymentDebitRequested) {
            id = r.repaymentId
            account = r.accountNumber
            amount = r.amountFen
            closureReason = nil
            kind = .loanRepayment
            eventKind = .loanRepayment
        }
    }

    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        EventSubscription(
            consumerName: "withdrawal-debits", topics: [.withdrawalEvents, .loanEvents, .regionalEvents],
            handlers: [
                .on(.withdrawalRequested, WithdrawalRequested.self) { event, db in
                    try await debit(Request(event.data), in: db)
                },
                .on(.repaymentDebitRequested, RepaymentDebitRequested.self) { event, db in
                    try await debit(Request(event.data), in: db)
                },
                .on(.transferOutRequested, TransferOutStep.self) { event, db in
                    try await debit(Request(event.data), in: db)
                },
                .on(.withdrawalPaid, WithdrawalPaid.self) { event, db in
                    let paid = event.data
                    try await settle(paid.withdrawalId, account: paid.accountNumber, on: paid.paidOn, in: db)
                },
                .on(.transferOutCompleted, TransferOutStep.self) { event, db in
                    let done = event.data
                    try await settle(done.transferId, account: done.accountNumber, on: done.on, in: db)
                },
                .on(.payoutFailed, PayoutFailed.self) { event, db in
                    let failed = event.data
                    try await reverse(failed.withdrawalId, account: failed.accountNumber, code: failed.code, in: db)
                },
                .on(.transferOutFailed, TransferOutStep.self) { event, db in
                    let failed = event.data
                    try await reverse(
                        failed.transferId, account: failed.accountNumber, code: failed.code ?? "transfer_failed",
                        in: db)
                },
                .on(.transferInAccepted, TransferInAccepted.self) { event, db in
                    try await TransferCredits.credit(event.data, in: db)
                },
            ])
    }

    static func debitExists(_ id: UUID, in db: DatabaseContext) async throws -> Bool {
        let rows = try await db.query("SELECT 1 FROM debits WHERE debit_id = \(id)")
        for try await _ in rows { return true }
        return false
    }

    static func debit(_ request: Request, in db: DatabaseContext) async throws {
        let id = try debitID(request.id)
        let closing = request.closureReason != nil
        guard closing || (request.amount ?? 0) > 0 else { throw EventRejection(detail: "a debit must name a positive amount") }
        let account = try await Ledger.lockAccount(request.account, in: db)
        // Asked before (a re-sent request): the first answer stands.
        guard try await !debitExists(id, in: db) else { return }
        let today = db.today

        func refuse(_ code: String, _ detail: String) async throws {
            try await db.query(
                """
                INSERT INTO debits (debit_id, account_number, kind, amount_fen, closure_reason, status, code, decided_on)
                VALUES (\(id), \(request.account), \(request.kind.rawValue), \(request.amount ?? 0), \(request.closureReason?.rawValue),
                        'refused', \(code), \(today))
                """)
            let refused = DebitRefused(debitId: request.id, accountNumber: request.account, code: code, detail: detail, balanceFen: account?.balance)
            try await db.emit(.debitRefused, refused, account: request.account)
        }

        guard let account else { return try await refuse("unknown_account", "the ledger has no account \(request.account)") }
        guard account.status == "active" else { return try await refuse("account_not_active", "the account is \(account.status)") }
        var amount = closing ? account.balance : request.amount ?? 0
        // Money leaving with the whole balance takes its interest up to yesterday with it
        // (POLICY.md "Deposit interest"): a closure or transfer moves the balance after it. Any
        // interest year the daily job has not reached yet is posted first, too.
        var interest: Fen = 0
        var available = account.balance
        if closing || amount == account.balance,
            var state = try await LedgerInterest.load(request.account, in: db)
        {
            let occasion: InterestSettled.Occasion = closing ? (request.kind == .transferOut ? .transferOut : .closure) : .fullWithdrawal
            interest = try await LedgerInterest.settleBefore(today, &state, occasion: occasion, in: db)
            available = state.balance
            if closing { amount = state.balance }
        }
        guard amount > 0 else { return try await refuse("zero_balance", "there is nothing to withdraw") }
        guard amount <= available else {
            return try await refuse("insufficient_balance", "the balance \(available) fen does not cover \(amount) fen")
        }
        // A loan repayment stays inside the fund (no payout to wait for): it is final at once.
        let posted: Ledger.Posted
        do {
            posted = try await Ledger.post(
                account: request.account, kind: request.kind, amount: -amount,
                reference: "\(request.kind.rawValue):\(request.id)", at: db.runtime.clock.now, businessDate: today,
                in: db)
        } catch Ledger.PostingError.insufficientBalance {
            // Cannot happen under the row lock; the guard is the last line of defence.
            return try await refuse("insufficient_balance", "the balance does not cover \(amount) fen")
        }
        try await db.query(
            """
            INSERT INTO debits (debit_id, account_number, kind, amount_fen, closure_reason, status, posting_seq, decided_on)
            VALUES (\(id), \(request.account), \(request.kind.rawValue), \(amount), \(request.closureReason?.rawValue),
                    \(request.kind == .loanRepayment ? "settled" : "posted"), \(posted.seq), \(today))
            """)
        let lots = try await LedgerLots.consume(amount, account: request.account, debit: id, in: db)
        if closing {
            // No contribution or other debit until the closure is paid (closed) or reversed (active).
            try await db.query("UPDATE accounts SET status = 'closing' WHERE account_number = \(request.account)")
        }
        let debitPosted = DebitPosted(
            debitId: request.id, accountNumber: request.account, kind: request.eventKind, amountFen: amount,
            postedOn: today, balanceAfterFen: posted.balanceAfter, sequence: posted.seq, consumedLots: lots,
            closureReason: request.closureReason, interestFen: interest > 0 ? interest : nil)
        try await db.emit(.debitPosted, debitPosted, account: request.account)
    }

    /// The payout reached the payee (or the partner city confirmed the transfer): the debit is
    /// final; a closure or transfer closes the account.
    static func settle(
        _ debit: String, account: String, on date: BusinessDate, in db: DatabaseContext
    ) async throws {
        let id = try debitID(debit)
        _ = try await Ledger.lockAccount(account, in: db)
        let rows = try await db.query(
            """
            UPDATE debits SET status = 'settled', updated_at = now()
            WHERE debit_id = \(id) AND status = 'posted' RETURNING closure_reason
            """)
        var closure: String??
        for try await reason in rows.decode(String?.self) { closure = .some(reason) }
        guard let closureReason = closure else {
            guard try await debitStatus(id, in: db) == "settled" else {
                throw EventRejection(detail: "\(debit) was settled but the ledger holds no open debit for it")
            }
            return
        }
        guard let reason = closureReason.flatMap(ClosureReason.init(rawValue:)) else { return }
        try await db.query("UPDATE accounts SET status = 'closed' WHERE account_number = \(account)")
        let closed = AccountClosed(accountNumber: account, closureReason: reason, closedOn: date)
        try await db.emit(.accountClosed, closed, account: account)
    }

    /// Compensation: the payout (or the transfer) failed, so a `reversal` posting gives the money
    /// back and the lots it took are restored; a closing account is active again.
    static func reverse(
        _ debit: String, account: String, code: String, in db: DatabaseContext
    ) async throws {
        let id = try debitID(debit)
        _ = try await Ledger.lockAccount(account, in: db)
        let rows = try await db.query(
            """
            SELECT amount_fen, closure_reason FROM debits WHERE debit_id = \(id) AND status = 'posted' FOR UPDATE
            """)
        var found: (Int64, String?)?
        for try await row in rows.decode((Int64, String?).self) { found = row }
        guard let (amount, closure) = found else {
            guard try await debitStatus(id, in: db) == "reversed" else {
                throw EventRejection(detail: "\(debit) failed but the ledger holds no open debit for it")
            }
            return
        }
        let today = db.today
        let posted = try await Ledger.post(
            account: account, kind: .reversal, amount: amount,
            reference: "reversal:\(debit)", at: db.runtime.clock.now, businessDate: today,
            in: db)
        try await db.query(
            """
            UPDATE debits SET status = 'reversed', code = \(code), reversal_seq = \(posted.seq), updated_at = now()
            WHERE debit_id = \(id)
            """)
        let restored = try await LedgerLots.restore(debit: id, in: db)
        if closure != nil {
            try await db.query(
                "UPDATE accounts SET status = 'active' WHERE account_number = \(account) AND status = 'closing'")
        }
        let reversed = DebitReversed(
            debitId: debit, accountNumber: account, amountFen: amount, code: code,
            reversedOn: today, balanceAfterFen: posted.balanceAfter, sequence: posted.seq, restoredLots: restored)
        try await db.emit(.debitReversed, reversed, account: account)
    }

    static func debitID(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw EventRejection(detail: "debit id \(text) is not a UUID") }
        return id
    }

    static func debitStatus(_ id: UUID, in db: DatabaseContext) async throws -> String? {
        let rows = try await db.query("SELECT status FROM debits WHERE debit_id = \(id)")
        for try await status in rows.decode(String.self) { return status }
        return nil
    }

}
