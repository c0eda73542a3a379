import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Loans after the decision: disbursement (at once, or when liquidity returns) and the read side.
enum Loans {
    /// Pays a queued loan out: it becomes `active` and counts against the pool.
    static func disburse(_ loanId: UUID, in db: DatabaseContext) async throws {
        let today = db.today
        let rows = try await db.query(
            """
            UPDATE loans SET status = 'active', disbursed_on = \(today)
            WHERE loan_id = \(loanId) AND status = 'awaiting_liquidity'
            RETURNING application_id, account_number, principal_fen, annual_rate_milli_percent, term_months, method
            """)
        for try await (application, account, principal, rate, term, method) in rows.decode((UUID, String, Int64, Int64, Int, String).self) {
            try await disbursementEffects(
                loanId, applicationId: application, account: account, principal: principal, rate: rate, term: term,
                method: try RepaymentMethod.stored(method, column: "loans.repayment_method"), on: today,
                in: db)
        }
    }

    /// A disbursed loan's schedule and its `loan-disbursed` event (the loan's status is the caller's).
    static func disbursementEffects(
        _ loanId: UUID, applicationId: UUID, account: String, principal: Fen, rate: Int64, term: Int,
        method: RepaymentMethod, on today: BusinessDate, in db: DatabaseContext
    ) async throws {
        let rows = LoanRules.schedule(principal: principal, annualRateMilliPercent: rate, months: term, method: method)
        try await Instalments.insert(rows, loan: loanId, from: today, startingAt: 0, in: db)
        let disbursed = LoanDisbursed(
            loanId: loanId.uuidString.lowercased(), applicationId: applicationId.uuidString.lowercased(),
            accountNumber: account, principalFen: principal, annualRateMilliPercent: rate, termMonths: term,
            repaymentMethod: method, firstPaymentFen: rows.first?.paymentFen ?? 0, disbursedOn: today)
        try await db.emit(.loanDisbursed, disbursed, account: account)
    }

    /// A new loan, its schedule and event already written, becomes active: the fund pool's
    /// trigger adds it to the loans outstanding (the caller has just reserved the amount).
    static func activate(_ loanId: UUID, on today: BusinessDate, in db: DatabaseContext) async throws {
        try await db.query(
            """
            UPDATE loans SET status = 'active', disbursed_on = \(today)
            WHERE loan_id = \(loanId) AND status = 'awaiting_liquidity'
            """)
    }

    struct View: Codable, Sendable {
        var loanId: String
        var applicationId: String
        var accountNumber: String
        var status: String
        var principalFen: Fen
        var outstandingFen: Fen
        var annualRate: String
        var termMonths: Int
        var repaymentMethod: String
        var disbursedOn: String?
        /// What is due and unpaid, and how many instalments are overdue now.
        var arrearsFen: Fen
        var overdueInstalments: Int
        /// What settles the loan today: the arrears plus the principal not yet due.
        var payoffFen: Fen
    }

    struct Row: Sendable {
        let view: View
        let rate: Int64
    }

    static func load(_ id: UUID, runtime: ServiceRuntime) async throws -> Row? {
        let today = runtime.clock.today
        let rows = try await runtime.database.query(
            """
            SELECT application_id, account_number, status, principal_fen, outstanding_fen, annual_rate_milli_percent, term_months, method,
                   disbursed_on,
                   (SELECT coalesce(sum(payment_fen - paid_fen), 0) FROM instalments WHERE loan_id = l.loan_id AND due_on <= \(today))::bigint AS arrears_fen,
                   (SELECT count(*) FROM instalments WHERE loan_id = l.loan_id AND overdue)::int AS overdue_instalments,
                   (SELECT coalesce(sum(principal_fen), 0) FROM instalments WHERE loan_id = l.loan_id AND due_on > \(today) AND paid_fen = 0)::bigint
                       AS principal_not_due_fen
            FROM loans l WHERE loan_id = \(id)
            """)
        for try await row in rows {
            let c = NamedColumns(row, table: "loans")
            let rate: Int64 = try c("annual_rate_milli_percent")
            let arrears: Int64 = try c("arrears_fen")
            let notDue: Int64 = try c("principal_not_due_fen")
            return Row(
                view: View(
                    loanId: id.uuidString.lowercased(), applicationId: (try c("application_id", as: UUID.self)).uuidString.lowercased(),
                    accountNumber: try c("account_number"), status: try c("status"), principalFen: try c("principal_fen"),
                    outstandingFen: try c("outstanding_fen"), annualRate: LoanApplications.percent(rate), termMonths: try c("term_months"),
                    repaymentMethod: try c("method"), disbursedOn: (try c("disbursed_on", as: BusinessDate?.self))?.description, arrearsFen: arrears,
                    overdueInstalments: try c("overdue_instalments"), payoffFen: try Checked.add(arrears, notDue)), rate: rate)
        }
        return nil
    }

    struct Handlers: Sendable {
        let runtime: ServiceRuntime

        func loan(_ context: HPFRequestContext) async throws -> Row {
            let text = try context.parameters.require("loanId")
            guard let id = UUID(uuidString: text), let row = try await Loans.load(id, runtime: runtime) else {
                throw Problem.notFound("unknown_loan", "no loan \(text)")
            }
            try await runtime.authorize(context, account: row.view.accountNumber, notFound: Problem.notFound("unknown_loan", "no loan \(text)"))
            return row
        }

        @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
            try HTTPJSON.response(.ok, try await loan(context).view)
        }

        /// `GET /v1/loans/{loanId}/schedule`: every instalment, rounded to the fen, the last absorbing the remainder.
        @Sendable func schedule(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let row = try await loan(context)
            struct Schedule: Codable {
                var loanId: String
                var principalFen: Fen
                var annualRate: String
                var repaymentMethod: String
                var totalInterestFen: Fen
                var instalments: [Instalment]
            }
            let method = try RepaymentMethod.stored(row.view.repaymentMethod, column: "loans.repayment_method")
            // The stored instalments (rescheduled after early repayments); a loan still waiting for
            // liquidity shows the schedule it will have.
            var rows: [Instalment] = []
            for try await (number, principal, interest, payment) in try await runtime.database.query(
                """
                SELECT number, principal_fen, interest_fen, payment_fen FROM instalments WHERE loan_id = \(UUID(uuidString: row.view.loanId)!) ORDER BY number
                """
            ).decode((Int, Int64, Int64, Int64).self) {
                rows.append(Instalment(number: number, principalFen: principal, interestFen: interest, paymentFen: payment, remainingFen: 0))
            }
            if rows.isEmpty {
                rows = LoanRules.schedule(principal: row.view.principalFen, annualRateMilliPercent: row.rate, months: row.view.termMonths, method: method)
            } else {
                var remaining = rows.reduce(0) { $0 + $1.principalFen }
                for index in rows.indices {
                    remaining -= rows[index].principalFen
                    rows[index].remainingFen = remaining
                }
            }
            return try HTTPJSON.response(
                .ok,
                Schedule(
                    loanId: row.view.loanId, principalFen: row.view.principalFen, annualRate: row.view.annualRate,
                    repaymentMethod: method.rawValue, totalInterestFen: rows.reduce(0) { $0 + $1.interestFen },
                    instalments: rows))
        }
    }
}
