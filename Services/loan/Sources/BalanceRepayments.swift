import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Repaying from the HPF balance (公积金账户余额还贷), the loan's side of the debit saga: the
/// ledger's `debit-posted` (kind `loan_repayment`) applies the pending repayment to the loan;
/// its `debit-refused` ends it `refused` with the ledger's code. One pending per loan, so the
/// amount checked at the request is still owed when it is applied.
enum BalanceRepayments {
    static func debited(_ debit: DebitPosted, in db: DatabaseContext) async throws {
        guard let id = UUID(uuidString: debit.debitId) else { return }
        let rows = try await db.query(
            """
            UPDATE balance_repayments SET status = 'applied' WHERE repayment_id = \(id) AND status = 'pending'
            RETURNING loan_id, reference, amount_fen
            """)
        for try await (loanId, reference, amount) in rows.decode((UUID, String, Int64).self) {
            guard let loan = try await Instalments.LockedLoan.lock(loanId, in: db) else { return }
            _ = try await Instalments.apply(amount, to: loan, source: "hpf_balance", reference: reference, in: db)
        }
    }

    static func refused(_ refusal: DebitRefused, in db: DatabaseContext) async throws {
        guard let id = UUID(uuidString: refusal.debitId) else { return }
        try await db.query(
            """
            UPDATE balance_repayments SET status = 'refused', code = \(refusal.code) WHERE repayment_id = \(id) AND status = 'pending'
            """)
    }
}
