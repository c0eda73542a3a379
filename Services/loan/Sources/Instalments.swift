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
    static func insert(_ rows: [Instalment], loan: UUID, from start: BusinessDate, startingAt offset: Int,
                       connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        let numbers = rows.map { $0.number + offset }
        let dues = rows.map { start.adding(months: $0.number + offset).description }
        try await connection.query("""
            INSERT INTO instalments (loan_id, number, due_on, principal_fen, interest_fen, payment_fen)
            SELECT \(loan), n, d::date, p, i, t
            FROM unnest(\(numbers)::int[], \(dues)::text[], \(rows.map(\.principalFen))::bigint[], \(rows.map(\.interestFen))::bigint[],
                        \(rows.map(\.paymentFen))::bigint[]) AS u(n, d, p, i, t)
            """, logger: logger)
    }

    struct Body: Codable, Sendable {
        enum Source: String, Codable, Sendable { case bankTransfer = "bank_transfer" }
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

    struct Handlers: Sendable {
        let runtime: ServiceRuntime

        /// `POST /v1/loans/{loanId}/repayments`: a bank transfer (idempotent on its reference).
        @Sendable func repay(_ request: Request, context: BasicRequestContext) async throws -> Response {
            let text = try context.parameters.require("loanId")
            guard let loanId = UUID(uuidString: text) else { throw Problem.notFound("unknown_loan", "no loan \(text)") }
            let body = try await HTTPJSON.decode(Body.self, from: request)
            guard body.amountFen > 0, !body.reference.isEmpty, body.reference.count <= 128 else {
                throw Problem.malformed("amountFen must be positive and reference 1 to 128 characters")
            }
            let logger = runtime.logger
            let today = runtime.clock.today
            let (applied, replay) = try await runtime.transaction { connection -> (Applied, Bool) in
                var loan: (String, String, Int64, Int, String, String?)?
                for try await row in try await connection.query("""
                    SELECT account_number, status, annual_rate_milli_percent, term_months, method, disbursed_on::text FROM loans
                    WHERE loan_id = \(loanId) FOR UPDATE
                    """, logger: logger).decode((String, String, Int64, Int, String, String?).self) { loan = row }
                guard let (account, status, rate, term, method, disbursed) = loan else { throw Problem.notFound("unknown_loan", "no loan \(text)") }
                for try await amount in try await connection.query("""
                    SELECT amount_fen FROM repayments WHERE loan_id = \(loanId) AND reference = \(body.reference)
                    """, logger: logger).decode(Int64.self) {
                    guard amount == body.amountFen else { throw Problem.conflict("duplicate_repayment_mismatch", "reference \(body.reference) was used for \(amount) fen") }
                    return (try await state(loanId, status: status, amount: amount, connection: connection), true)
                }
                guard status == "active", let disbursedOn = disbursed.flatMap(BusinessDate.init) else {
                    throw Problem.rule("loan_not_active", "the loan is \(status)")
                }
                let owed = try await Instalments.owed(loanId, on: today, connection: connection, logger: logger)
                guard body.amountFen <= owed.arrears + owed.principalNotDue else {
                    throw Problem.rule("exceeds_amount_owed", "at most \(owed.arrears + owed.principalNotDue) fen is owed")
                }
                // 1. What is due, oldest first.
                var left = body.amountFen
                let due = try await connection.query("""
                    SELECT number, payment_fen - paid_fen FROM instalments
                    WHERE loan_id = \(loanId) AND paid_fen < payment_fen AND due_on <= \(today.description)::date ORDER BY number
                    """, logger: logger)
                var payments: [(Int, Int64)] = []
                for try await (number, open) in due.decode((Int, Int64).self) where left > 0 {
                    let pay = min(open, left)
                    left -= pay
                    payments.append((number, pay))
                }
                if !payments.isEmpty {
                    try await connection.query("""
                        UPDATE instalments i SET paid_fen = i.paid_fen + u.pay, paid_on = \(today.description)::date,
                            overdue = i.overdue AND i.paid_fen + u.pay < i.payment_fen
                        FROM unnest(\(payments.map(\.0))::int[], \(payments.map(\.1))::bigint[]) AS u(n, pay)
                        WHERE i.loan_id = \(loanId) AND i.number = u.n
                        """, logger: logger)
                }
                // 2. Early repayment of principal: the months not yet due are rescheduled.
                if left > 0 {
                    try await prepay(left, loan: loanId, rate: rate, term: term, method: RepaymentMethod(rawValue: method) ?? .equalInstallment,
                                     disbursedOn: disbursedOn, today: today, connection: connection, logger: logger)
                }
                try await connection.query("""
                    INSERT INTO repayments (repayment_id, loan_id, source, reference, amount_fen, received_on)
                    VALUES (\(UUID()), \(loanId), \(body.source.rawValue), \(body.reference), \(body.amountFen), \(today.description)::date)
                    """, logger: logger)
                let after = try await Instalments.owed(loanId, on: today, connection: connection, logger: logger)
                let outstanding = after.principalDue + after.principalNotDue
                let settled = after.arrears == 0 && outstanding == 0
                try await connection.query("""
                    UPDATE loans SET outstanding_fen = \(outstanding), status = CASE WHEN \(settled) THEN 'settled' ELSE status END WHERE loan_id = \(loanId)
                    """, logger: logger)
                let repaid = LoanRepaid(loanId: loanId.uuidString.lowercased(), accountNumber: account, amountFen: body.amountFen,
                                        source: body.source.rawValue, reference: body.reference, outstandingFen: outstanding,
                                        arrearsFen: after.arrears, receivedOn: today)
                try await runtime.emit(.loanRepaid, repaid, account: account, on: connection)
                if settled {
                    let settled = LoanSettled(loanId: loanId.uuidString.lowercased(), accountNumber: account, settledOn: today)
                    try await runtime.emit(.loanSettled, settled, account: account, on: connection)
                }
                return (Applied(loanId: loanId.uuidString.lowercased(), status: settled ? "settled" : "active", amountFen: body.amountFen,
                                outstandingFen: outstanding, arrearsFen: after.arrears), false)
            }
            return try HTTPJSON.response(replay ? .ok : .created, applied)
        }

        func state(_ loanId: UUID, status: String, amount: Fen, connection: PostgresConnection) async throws -> Applied {
            let owed = try await Instalments.owed(loanId, on: runtime.clock.today, connection: connection, logger: runtime.logger)
            return Applied(loanId: loanId.uuidString.lowercased(), status: status, amountFen: amount,
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

    static func owed(_ loanId: UUID, on date: BusinessDate, connection: PostgresConnection, logger: Logger) async throws -> Owed {
        // Within an instalment, payments go to interest first.
        let day = date.description
        let rows = try await connection.query("""
            SELECT coalesce(sum(payment_fen - paid_fen) FILTER (WHERE due_on <= \(day)::date), 0)::bigint,
                   coalesce(sum(principal_fen - greatest(0, paid_fen - interest_fen)) FILTER (WHERE due_on <= \(day)::date), 0)::bigint,
                   coalesce(sum(principal_fen - greatest(0, paid_fen - interest_fen)) FILTER (WHERE due_on > \(day)::date), 0)::bigint
            FROM instalments WHERE loan_id = \(loanId)
            """, logger: logger)
        for try await (arrears, due, notDue) in rows.decode((Int64, Int64, Int64).self) { return Owed(arrears: arrears, principalDue: due, principalNotDue: notDue) }
        return Owed(arrears: 0, principalDue: 0, principalNotDue: 0)
    }

    /// Repays `amount` of the principal not yet due and reschedules the remaining months.
    static func prepay(_ amount: Fen, loan: UUID, rate: Int64, term: Int, method: RepaymentMethod, disbursedOn: BusinessDate, today: BusinessDate,
                       connection: PostgresConnection, logger: Logger) async throws {
        var future: [(Int, Int64)] = []
        for try await row in try await connection.query("""
            SELECT number, principal_fen FROM instalments WHERE loan_id = \(loan) AND due_on > \(today.description)::date AND paid_fen = 0 ORDER BY number
            """, logger: logger).decode((Int, Int64).self) { future.append(row) }
        guard let firstNumber = future.first?.0 else { return }
        let remaining = future.reduce(0) { $0 + $1.1 } - amount
        try await connection.query("DELETE FROM instalments WHERE loan_id = \(loan) AND number >= \(firstNumber)", logger: logger)
        guard remaining > 0 else { return }
        let rows = LoanRules.schedule(principal: remaining, annualRateMilliPercent: rate, months: future.count, method: method)
        try await insert(rows, loan: loan, from: disbursedOn, startingAt: firstNumber - 1, connection: connection, logger: logger)
    }
}
