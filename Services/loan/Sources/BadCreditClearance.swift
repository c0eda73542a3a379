import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// A bad-credit record from our own overdue loan (§13) does not block for ever: once a repayment
/// leaves no overdue instalment on the loan, the record's end is set 5 years on (POLICY.md
/// decisions, the credit-reporting regulation's retention) and `bad-credit-cleared` tells the
/// credit registry. Overdue arrears again reopen it (`OverdueJob`).
enum BadCreditClearance {
    static func afterRepayment(
        loan: UUID, account: String, on today: BusinessDate, runtime: ServiceRuntime,
        connection: PostgresConnection
    ) async throws {
        let logger = runtime.logger
        for try await _ in try await connection.query(
            "SELECT 1 FROM instalments WHERE loan_id = \(loan) AND overdue LIMIT 1", logger: logger)
        { return }
        let until = LoanRules.badCreditActiveUntil(arrearsClearedOn: today, parameters: runtime.parameters)
        let rows = try await connection.query(
            """
            UPDATE bad_credit_records SET arrears_cleared_on = \(today), active_until = \(until)
            WHERE loan_id = \(loan) AND arrears_cleared_on IS NULL RETURNING person_ref
            """, logger: logger)
        for try await person in rows.decode(String.self) {
            let cleared = BadCreditCleared(
                personRef: person, accountNumber: account, loanId: loan.uuidString.lowercased(),
                arrearsClearedOn: today, activeUntil: until)
            try await runtime.emit(.badCreditCleared, cleared, account: account, on: connection)
        }
    }
}
