import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// A loan's instalments: due monthly from the disbursement date; repayments pay the due ones
/// oldest first (interest before principal), and what is left repays principal early, after
/// which the remaining months are rescheduled on the lower principal (same end date).
enum Instalments {
    static func insert(
        _ rows: [Instalment], loan: UUID, from start: BusinessDate, startingAt offset: Int,
        in db: DatabaseContext
    ) async throws {
        guard !rows.isEmpty else { return }
        let numbers = rows.map { $0.number + offset }
        let dues = rows.map { start.adding(months: $0.number + offset) }
        try await db.query(
            """
            INSERT INTO instalments (loan_id, number, due_on, principal_fen, interest_fen, payment_fen)
            SELECT \(loan), n, d, p, i, t
            FROM unnest(\(numbers)::int[], \(dues)::date[], \(rows.map(\.principalFen))::bigint[], \(rows.map(\.interestFen))::bigint[],
                        \(rows.map(\.paymentFen))::bigint[]) AS u(n, d, p, i, t)
            """)
    }

    struct Body: Codable, Sendable {
        enum Source: String, Codable, Sendable {
            case bankTransfer = "bank_transfer"
            case hpfBalance = "hpf_balance"  // 公积金账户余额还贷: a debit of the account through the ledger
        }
        var amountFen: Fen
        var source: Source
        /// The bank's reference: a repayment is idempotent on it.
        var reference: String
    }

    struct Applied: Codable, Sendable {
        var loanId: String
        var status: String
        var amountFen: Fen
        var outstandingFen: Fen
        var arrearsFen: Fen
    }

    /// The loan as a repayment sees it, locked for the transaction.
    struct LockedLoan: Sendable {
        let id: UUID
        let account: String
        let status: String
        let rate: Int64
        let term: Int
        let method: RepaymentMethod
        let disbursedOn: BusinessDate?

        static func lock(_ id: UUID, in db: DatabaseContext) async throws -> LockedLoan? {
            for try await r in try await db.query(
                """
                SELECT account_number, status, annual_rate_milli_percent, term_months, method, disbursed_on FROM loans
                WHERE loan_id = \(id) FOR UPDATE
                """
            ).decode((String, String, Int64, Int, String, BusinessDate?).self) {
                return LockedLoan(
                    id: id, account: r.0, status: r.1, rate: r.2, term: r.3, method: try RepaymentMethod.stored(r.4, column: "loans.repayment_method"),
                    disbursedOn: r.5)
            }
            return nil
        }
    }

    /// Applies a received repayment: instalments due first (oldest first), the rest repays
    /// principal early; settles the loan when nothing is owed. The caller checked the amount.
    static func apply(
        _ amount: Fen, to loan: LockedLoan, source: String, reference: String, in db: DatabaseContext
    ) async throws -> Applied {
        // Before the repayment changes the pool's totals row (the loan's outstanding amount): see `FundPool.release`.
        try await FundPool.holdQueue(in: db)
        let today = db.today
        var left = amount
        var payments: [(Int, Int64)] = []
        for try await (number, open) in try await db.query(
            """
            SELECT number, payment_fen - paid_fen FROM instalments
            WHERE loan_id = \(loan.id) AND paid_fen < payment_fen AND due_on <= \(today) ORDER BY number
            """
        ).decode((Int, Int64).self) where left > 0 {
            let pay = min(open, left)
            left -= pay
            payments.append((number, pay))
        }
        if !payments.isEmpty {
            try await db.query(
                """
                UPDATE instalments i SET paid_fen = i.paid_fen + u.pay, paid_on = \(today),
                    overdue = i.overdue AND i.paid_fen + u.pay < i.payment_fen
                FROM unnest(\(payments.map(\.0))::int[], \(payments.map(\.1))::bigint[]) AS u(n, pay)
                WHERE i.loan_id = \(loan.id) AND i.number = u.n
                """)
        }
        if left > 0, let disbursedOn = loan.disbursedOn {
            try await prepay(
                left, loan: loan.id, rate: loan.rate, term: loan.term, method: loan.method, disbursedOn: disbursedOn, today: today,
                in: db)
        }
        try await db.query(
            """
            INSERT INTO repayments (repayment_id, loan_id, source, reference, amount_fen, received_on)
            VALUES (\(UUID()), \(loan.id), \(source), \(reference), \(amount), \(today))
            """)
        let after = try await owed(loan.id, on: today, in: db)
        let outstanding = after.principalDue + after.principalNotDue
        let settled = after.arrears == 0 && outstanding == 0
        try await db.query(
            """
            UPDATE loans SET outstanding_fen = \(outstanding), status = CASE WHEN \(settled) THEN 'settled' ELSE status END WHERE loan_id = \(loan.id)
            """)
        try await BadCreditClearance.afterRepayment(loan: loan.id, account: loan.account, on: today, in: db)
        // Repaid principal is liquidity again: queued loans may go out now.
        try await FundPool.release(in: db)
        let repaid = LoanRepaid(
            loanId: loan.id.uuidString.lowercased(), accountNumber: loan.account, amountFen: amount, source: source,
            reference: reference, outstandingFen: outstanding, arrearsFen: after.arrears, receivedOn: today)
        try await db.emit(.loanRepaid, repaid, account: loan.account)
        if settled {
            let event = LoanSettled(loanId: loan.id.uuidString.lowercased(), accountNumber: loan.account, settledOn: today)
            try await db.emit(.loanSettled, event, account: loan.account)
        }
        return Applied(
            loanId: loan.id.uuidString.lowercased(), status: settled ? "settled" : "active", amountFen: amount,
            outstandingFen: outstanding, arrearsFen: after.arrears)
    }

    struct Handlers: Sendable {
        let runtime: ServiceRuntime

        /// `POST /v1/loans/{loanId}/repayments`: a bank transfer (applied at once, 201) or a debit of
        /// the HPF balance (202: the ledger debits it, then it is applied), idempotent on `reference`.
        @Sendable func repay(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let text = try context.parameters.require("loanId")
            guard let loanId = UUID(uuidString: text) else { throw Problem.notFound("unknown_loan", "no loan \(text)") }
            let body = try await HTTPJSON.decode(Body.self, from: request)
            // A bank transfer is the bank's word that money arrived: only its signed feed may say so.
            // A debit of the HPF balance is the holder's (or an officer's) decision, never a channel's.
            switch (body.source, context.caller) {
            case (.bankTransfer, .channel?), (.hpfBalance, .citizen?), (.hpfBalance, .staff?): break
            case (.bankTransfer, _): throw Problem.forbidden(code: "bank_feed_only", "bank-transfer repayments are reported by the bank's signed feed")
            case (.hpfBalance, _): throw Problem.forbidden(code: "holder_only", "a repayment from the HPF balance is the holder's request")
            }
            guard body.amountFen > 0, !body.reference.isEmpty, body.reference.count <= 128 else {
                throw Problem.malformed("amountFen must be positive and reference 1 to 128 characters")
            }
            let today = runtime.clock.today
            let (applied, status) = try await runtime.idempotentTransaction(logger: context.logger) { db -> (Applied, HTTPResponse.Status) in
                guard let loan = try await LockedLoan.lock(loanId, in: db) else {
                    throw Problem.notFound("unknown_loan", "no loan \(text)")
                }
                try await runtime.authorize(
                    context, account: loan.account, in: db,
                    notFound: Problem.notFound("unknown_loan", "no loan \(text)"))
                for try await (amount, recorded) in try await db.query(
                    """
                    SELECT amount_fen, 'applied' FROM repayments WHERE loan_id = \(loanId) AND reference = \(body.reference)
                    UNION ALL SELECT amount_fen, status FROM balance_repayments WHERE loan_id = \(loanId) AND reference = \(body.reference)
                    """
                ).decode((Int64, String).self) {
                    guard amount == body.amountFen else {
                        throw Problem.conflict("duplicate_repayment_mismatch", "reference \(body.reference) was used for \(amount) fen")
                    }
                    var answer = try await state(loanId, status: loan.status, amount: amount, in: db)
                    if recorded != "applied" { answer.status = recorded }
                    return (answer, .ok)
                }
                guard loan.status == "active", loan.disbursedOn != nil else { throw Problem.rule("loan_not_active", "the loan is \(loan.status)") }
                for try await _ in try await db.query(
                    "SELECT 1 FROM balance_repayments WHERE loan_id = \(loanId) AND status = 'pending'")
                {
                    throw Problem.conflict("repayment_in_progress", "a repayment from the HPF balance is being debited; retry when it is done")
                }
                let owed = try await Instalments.owed(loanId, on: today, in: db)
                guard body.amountFen <= owed.arrears + owed.principalNotDue else {
                    throw Problem.rule("exceeds_amount_owed", "at most \(owed.arrears + owed.principalNotDue) fen is owed")
                }
                switch body.source {
                case .bankTransfer:
                    return (
                        try await Instalments.apply(
                            body.amountFen, to: loan, source: body.source.rawValue, reference: body.reference,
                            in: db), .created
                    )
                case .hpfBalance:
                    // The saga: the ledger debits the account (or refuses), then the repayment is applied.
                    let id = UUID()
                    try await db.query(
                        """
                        INSERT INTO balance_repayments (repayment_id, loan_id, account_number, reference, amount_fen, status, requested_on)
                        VALUES (\(id), \(loanId), \(loan.account), \(body.reference), \(body.amountFen), 'pending', \(today))
                        """)
                    let requested = RepaymentDebitRequested(
                        repaymentId: id.uuidString.lowercased(), loanId: loanId.uuidString.lowercased(),
                        accountNumber: loan.account, amountFen: body.amountFen, requestedOn: today)
                    try await db.emit(.repaymentDebitRequested, requested, account: loan.account)
                    var pending = try await state(loanId, status: loan.status, amount: body.amountFen, in: db)
                    pending.status = "pending"
                    return (pending, .accepted)
                }
            }
            return try HTTPJSON.response(status, applied)
        }

        func state(_ loanId: UUID, status: String, amount: Fen, in db: DatabaseContext) async throws -> Applied {
            let owed = try await Instalments.owed(loanId, on: runtime.clock.today, in: db)
            return Applied(
                loanId: loanId.uuidString.lowercased(), status: status, amountFen: amount,
                outstandingFen: owed.principalDue + owed.principalNotDue, arrearsFen: owed.arrears)
        }
    }

    struct Owed {
        /// Unpaid amounts of instalments already due (interest included).
        let arrears: Fen
        /// Principal still unpaid in instalments already due.
        let principalDue: Fen
        /// Principal of the instalments not yet due.
        let principalNotDue: Fen
    }

    static func owed(_ loanId: UUID, on date: BusinessDate, in db: DatabaseContext) async throws -> Owed {
        // Within an instalment, payments go to interest first.
        let rows = try await db.query(
            """
            SELECT coalesce(sum(payment_fen - paid_fen) FILTER (WHERE due_on <= \(date)), 0)::bigint,
                   coalesce(sum(principal_fen - greatest(0, paid_fen - interest_fen)) FILTER (WHERE due_on <= \(date)), 0)::bigint,
                   coalesce(sum(principal_fen - greatest(0, paid_fen - interest_fen)) FILTER (WHERE due_on > \(date)), 0)::bigint
            FROM instalments WHERE loan_id = \(loanId)
            """)
        for try await (arrears, due, notDue) in rows.decode((Int64, Int64, Int64).self) {
            return Owed(arrears: arrears, principalDue: due, principalNotDue: notDue)
        }
        return Owed(arrears: 0, principalDue: 0, principalNotDue: 0)
    }

    /// Repays `amount` of the principal not yet due and reschedules the remaining months.
    static func prepay(
        _ amount: Fen, loan: UUID, rate: Int64, term: Int, method: RepaymentMethod, disbursedOn: BusinessDate, today: BusinessDate,
        in db: DatabaseContext
    ) async throws {
        var future: [(Int, Int64)] = []
        for try await row in try await db.query(
            """
            SELECT number, principal_fen FROM instalments WHERE loan_id = \(loan) AND due_on > \(today) AND paid_fen = 0 ORDER BY number
            """
        ).decode((Int, Int64).self) { future.append(row) }
        guard let firstNumber = future.first?.0 else { return }
        let remaining = future.reduce(0) { $0 + $1.1 } - amount
        try await db.query("DELETE FROM instalments WHERE loan_id = \(loan) AND number >= \(firstNumber)")
        guard remaining > 0 else { return }
        let rows = LoanRules.schedule(principal: remaining, annualRateMilliPercent: rate, months: future.count, method: method)
        try await insert(rows, loan: loan, from: disbursedOn, startingAt: firstNumber - 1, in: db)
    }
}
