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
                .on(.withdrawalRequested, WithdrawalRequested.self) { event, connection in
                    try await debit(Request(event.data), runtime: runtime, connection: connection)
                },
                .on(.repaymentDebitRequested, RepaymentDebitRequested.self) { event, connection in
                    try await debit(Request(event.data), runtime: runtime, connection: connection)
                },
                .on(.transferOutRequested, TransferOutStep.self) { event, connection in
                    try await debit(Request(event.data), runtime: runtime, connection: connection)
                },
                .on(.withdrawalPaid, WithdrawalPaid.self) { event, connection in
                    let paid = event.data
                    try await settle(paid.withdrawalId, account: paid.accountNumber, on: paid.paidOn, runtime: runtime, connection: connection)
                },
                .on(.transferOutCompleted, TransferOutStep.self) { event, connection in
                    let done = event.data
                    try await settle(done.transferId, account: done.accountNumber, on: done.on, runtime: runtime, connection: connection)
                },
                .on(.payoutFailed, PayoutFailed.self) { event, connection in
                    let failed = event.data
                    try await reverse(failed.withdrawalId, account: failed.accountNumber, code: failed.code, runtime: runtime, connection: connection)
                },
                .on(.transferOutFailed, TransferOutStep.self) { event, connection in
                    let failed = event.data
                    try await reverse(
                        failed.transferId, account: failed.accountNumber, code: failed.code ?? "transfer_failed",
                        runtime: runtime, connection: connection)
                },
                .on(.transferInAccepted, TransferInAccepted.self) { event, connection in
                    try await TransferCredits.credit(event.data, runtime: runtime, connection: connection)
                },
            ])
    }

    static func debitExists(_ id: UUID, connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT 1 FROM debits WHERE debit_id = \(id)", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    static func debit(_ request: Request, runtime: ServiceRuntime, connection: PostgresConnection) async throws {
        let logger = runtime.logger
        let id = try debitID(request.id)
        let closing = request.closureReason != nil
        guard closing || (request.amount ?? 0) > 0 else { throw EventRejection(detail: "a debit must name a positive amount") }
        let account = try await Ledger.lockAccount(request.account, connection: connection, logger: logger)
        // Asked before (a re-sent request): the first answer stands.
        guard try await !debitExists(id, connection: connection, logger: logger) else { return }
        let today = runtime.clock.today

        func refuse(_ code: String, _ detail: String) async throws {
            try await connection.query(
                """
                INSERT INTO debits (debit_id, account_number, kind, amount_fen, closure_reason, status, code, decided_on)
                VALUES (\(id), \(request.account), \(request.kind.rawValue), \(request.amount ?? 0), \(request.closureReason?.rawValue),
                        'refused', \(code), \(today))
                """, logger: logger)
            let refused = DebitRefused(debitId: request.id, accountNumber: request.account, code: code, detail: detail, balanceFen: account?.balance)
            try await runtime.emit(.debitRefused, refused, account: request.account, on: connection)
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
            var state = try await LedgerInterest.load(request.account, runtime: runtime, connection: connection)
        {
            let occasion: InterestSettled.Occasion = closing ? (request.kind == .transferOut ? .transferOut : .closure) : .fullWithdrawal
            interest = try await LedgerInterest.settleBefore(today, &state, occasion: occasion, runtime: runtime, connection: connection)
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
                reference: "\(request.kind.rawValue):\(request.id)", at: runtime.clock.now, businessDate: today,
                runtime: runtime, connection: connection)
        } catch Ledger.PostingError.insufficientBalance {
            // Cannot happen under the row lock; the guard is the last line of defence.
            return try await refuse("insufficient_balance", "the balance does not cover \(amount) fen")
        }
        try await connection.query(
            """
            INSERT INTO debits (debit_id, account_number, kind, amount_fen, closure_reason, status, posting_seq, decided_on)
            VALUES (\(id), \(request.account), \(request.kind.rawValue), \(amount), \(request.closureReason?.rawValue),
                    \(request.kind == .loanRepayment ? "settled" : "posted"), \(posted.seq), \(today))
            """, logger: logger)
        let lots = try await LedgerLots.consume(amount, account: request.account, debit: id, connection: connection, logger: logger)
        if closing {
            // No contribution or other debit until the closure is paid (closed) or reversed (active).
            try await connection.query("UPDATE accounts SET status = 'closing' WHERE account_number = \(request.account)", logger: logger)
        }
        let debitPosted = DebitPosted(
            debitId: request.id, accountNumber: request.account, kind: request.eventKind, amountFen: amount,
            postedOn: today, balanceAfterFen: posted.balanceAfter, sequence: posted.seq, consumedLots: lots,
            closureReason: request.closureReason, interestFen: interest > 0 ? interest : nil)
        try await runtime.emit(.debitPosted, debitPosted, account: request.account, on: connection)
    }

    /// The payout reached the payee (or the partner city confirmed the transfer): the debit is
    /// final; a closure or transfer closes the account.
    static func settle(
        _ debit: String, account: String, on date: BusinessDate, runtime: ServiceRuntime,
        connection: PostgresConnection
    ) async throws {
        let logger = runtime.logger
        let id = try debitID(debit)
        _ = try await Ledger.lockAccount(account, connection: connection, logger: logger)
        let rows = try await connection.query(
            """
            UPDATE debits SET status = 'settled', updated_at = now()
            WHERE debit_id = \(id) AND status = 'posted' RETURNING closure_reason
            """, logger: logger)
        var closure: String??
        for try await reason in rows.decode(String?.self) { closure = .some(reason) }
        guard let closureReason = closure else {
            guard try await debitStatus(id, connection: connection, logger: logger) == "settled" else {
                throw EventRejection(detail: "\(debit) was settled but the ledger holds no open debit for it")
            }
            return
        }
        guard let reason = closureReason.flatMap(ClosureReason.init(rawValue:)) else { return }
        try await connection.query("UPDATE accounts SET status = 'closed' WHERE account_number = \(account)", logger: logger)
        let closed = AccountClosed(accountNumber: account, closureReason: reason, closedOn: date)
        try await runtime.emit(.accountClosed, closed, account: account, on: connection)
    }

    /// Compensation: the payout (or the transfer) failed, so a `reversal` posting gives the money
    /// back and the lots it took are restored; a closing account is active again.
    static func reverse(
        _ debit: String, account: String, code: String, runtime: ServiceRuntime,
        connection: PostgresConnection
    ) async throws {
        let logger = runtime.logger
        let id = try debitID(debit)
        _ = try await Ledger.lockAccount(account, connection: connection, logger: logger)
        let rows = try await connection.query(
            """
            SELECT amount_fen, closure_reason FROM debits WHERE debit_id = \(id) AND status = 'posted' FOR UPDATE
            """, logger: logger)
        var found: (Int64, String?)?
        for try await row in rows.decode((Int64, String?).self) { found = row }
        guard let (amount, closure) = found else {
            guard try await debitStatus(id, connection: connection, logger: logger) == "reversed" else {
                throw EventRejection(detail: "\(debit) failed but the ledger holds no open debit for it")
            }
            return
        }
        let today = runtime.clock.today
        let posted = try await Ledger.post(
            account: account, kind: .reversal, amount: amount,
            reference: "reversal:\(debit)", at: runtime.clock.now, businessDate: today,
            runtime: runtime, connection: connection)
        try await connection.query(
            """
            UPDATE debits SET status = 'reversed', code = \(code), reversal_seq = \(posted.seq), updated_at = now()
            WHERE debit_id = \(id)
            """, logger: logger)
        let restored = try await LedgerLots.restore(debit: id, connection: connection, logger: logger)
        if closure != nil {
            try await connection.query(
                "UPDATE accounts SET status = 'active' WHERE account_number = \(account) AND status = 'closing'",
                logger: logger)
        }
        let reversed = DebitReversed(
            debitId: debit, accountNumber: account, amountFen: amount, code: code,
            reversedOn: today, balanceAfterFen: posted.balanceAfter, sequence: posted.seq, restoredLots: restored)
        try await runtime.emit(.debitReversed, reversed, account: account, on: connection)
    }

    static func debitID(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw EventRejection(detail: "debit id \(text) is not a UUID") }
        return id
    }

    static func debitStatus(_ id: UUID, connection: PostgresConnection, logger: Logger) async throws -> String? {
        let rows = try await connection.query("SELECT status FROM debits WHERE debit_id = \(id)", logger: logger)
        for try await status in rows.decode(String.self) { return status }
        return nil
    }

}
