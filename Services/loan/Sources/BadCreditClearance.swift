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
        loan: UUID, account: String, on today: BusinessDate, in db: DatabaseContext
    ) async throws {
        for try await _ in try await db.query(
            "SELECT 1 FROM instalments WHERE loan_id = \(loan) AND overdue LIMIT 1")
        { return }
        let until = LoanRules.badCreditActiveUntil(arrearsClearedOn: today, parameters: db.parameters)
        let rows = try await db.query(
            """
            UPDATE bad_credit_records SET arrears_cleared_on = \(today), active_until = \(until)
            WHERE loan_id = \(loan) AND arrears_cleared_on IS NULL RETURNING person_ref
            """)
        for try await person in rows.decode(String.self) {
            let cleared = BadCreditCleared(
                personRef: person, accountNumber: account, loanId: loan.uuidString.lowercased(),
                arrearsClearedOn: today, activeUntil: until)
            try await db.emit(.badCreditCleared, cleared, account: account)
        }
    }
}
