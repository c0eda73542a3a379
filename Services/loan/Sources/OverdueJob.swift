import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// §13, §18 post-loan checks (a `DailyJob`): every day, instalments still unpaid the grace days after their due
/// date become overdue (an event each); crossing the consecutive or cumulative threshold creates a
/// bad-credit record, published for the enrolment service's credit registry. Idempotent: an
/// instalment turns overdue once, a loan gets one record.
struct OverdueJob: Sendable {
    let runtime: ServiceRuntime

    struct Summary: Codable, Sendable {
        var asOf: BusinessDate
        var overdueInstalments = 0
        var badCreditRecords = 0
    }

    func run(asOf: BusinessDate) async throws -> Summary {
        let p = runtime.parameters
        let cutoff = asOf.adding(days: -p.overdueAfterDays.value(on: asOf))
        return try await runtime.transaction { db in
            var summary = Summary(asOf: asOf)
            // The loans about to have an instalment marked are locked first, in one order: a
            // repayment holds its loan's row while it pays and decides whether the arrears are
            // cleared (`BadCreditClearance`). Without the lock each missed the other's uncommitted
            // instalment and a record was cleared while the next instalment had just gone overdue.
            for try await _ in try await db.query(
                """
                SELECT l.loan_id FROM loans l
                WHERE l.status = 'active' AND EXISTS (SELECT 1 FROM instalments i WHERE i.loan_id = l.loan_id
                  AND i.paid_fen < i.payment_fen AND NOT i.overdue AND i.due_on < \(cutoff))
                ORDER BY l.loan_id FOR UPDATE OF l
                """)
            {}
            let rows = try await db.query(
                """
                UPDATE instalments i SET overdue = true, was_overdue = true
                FROM loans l
                WHERE l.loan_id = i.loan_id AND l.status = 'active' AND i.paid_fen < i.payment_fen AND NOT i.overdue
                  AND i.due_on < \(cutoff)
                RETURNING i.loan_id, l.account_number, l.person_ref, i.number, i.due_on, i.payment_fen - i.paid_fen
                """)
            var marked: [(UUID, String, String, Int, BusinessDate, Int64)] = []
            for try await row in rows.decode((UUID, String, String, Int, BusinessDate, Int64).self) { marked.append(row) }
            summary.overdueInstalments = marked.count
            for loan in Set(marked.map(\.0)) {
                var history: [Int] = []
                for try await number in try await db.query(
                    "SELECT number FROM instalments WHERE loan_id = \(loan) AND was_overdue"
                ).decode(Int.self) { history.append(number) }
                let consecutive = LoanRules.longestRun(history)
                for (_, account, _, number, due, arrears) in marked.filter({ $0.0 == loan }).sorted(by: { $0.3 < $1.3 }) {
                    let event = InstalmentOverdue(
                        loanId: loan.uuidString.lowercased(), accountNumber: account, number: number,
                        dueOn: due, arrearsFen: arrears, consecutive: consecutive, cumulative: history.count)
                    try await db.emit(.instalmentOverdue, event, account: account)
                }
                guard let reason = LoanRules.badCredit(consecutive: consecutive, cumulative: history.count, on: asOf, parameters: p),
                    let (_, account, person, _, _, _) = marked.first(where: { $0.0 == loan })
                else { continue }
                let inserted = try await db.query(
                    """
                    INSERT INTO bad_credit_records (loan_id, person_ref, reason, recorded_on) VALUES (\(loan), \(person), \(reason), \(asOf))
                    ON CONFLICT (loan_id) DO UPDATE SET reason = excluded.reason, recorded_on = excluded.recorded_on,
                        arrears_cleared_on = NULL, active_until = NULL
                    WHERE bad_credit_records.arrears_cleared_on IS NOT NULL
                    RETURNING 1
                    """)
                // New, or one whose arrears had been cleared and are overdue again: it blocks again.
                var isNew = false
                for try await _ in inserted { isNew = true }
                guard isNew else { continue }
                summary.badCreditRecords += 1
                let record = BadCreditRecorded(
                    personRef: person, accountNumber: account, loanId: loan.uuidString.lowercased(), reason: reason, recordedOn: asOf)
                try await db.emit(.badCreditRecorded, record, account: account)
            }
            return summary
        }
    }
}
