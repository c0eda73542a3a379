import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// §8 across requests (POLICY.md "Rent"): what each rent request holds of each calendar month,
/// so that repeating a request, or a plan beside a withdrawal, cannot get round the monthly limit.
/// Every rent request of an account takes the account's rent lock first, so two at once are
/// checked one after the other.
enum RentMonths {
    /// Serialises the rent requests of one account until the transaction ends.
    static func lock(_ account: String, in db: DatabaseContext) async throws {
        try await db.query("SELECT pg_advisory_xact_lock(hashtext(\("rent:" + account)))")
    }

    /// What the account's live rent requests already hold of `months`: one-off withdrawals not
    /// rejected, and plans not cancelled.
    static func used(_ account: String, months: [YearMonth], in db: DatabaseContext) async throws -> [YearMonth: Fen] {
        var used: [YearMonth: Fen] = [:]
        for try await (month, fen) in try await db.query(
            """
            SELECT m.month, sum(m.amount_fen)::bigint FROM rent_months m
            LEFT JOIN withdrawals w ON w.withdrawal_id = m.withdrawal_id
            LEFT JOIN rent_plans p ON p.plan_id = m.plan_id
            WHERE m.account_number = \(account) AND m.month = ANY(\(months))
              AND (m.withdrawal_id IS NULL OR w.stage <> 'rejected') AND (m.plan_id IS NULL OR p.status <> 'cancelled')
            GROUP BY m.month
            """
        ).decode((YearMonth, Int64).self) {
            used[month] = fen
        }
        return used
    }

    /// Refuses the request if any of its months would go over the limit (§8), else nothing.
    static func check(
        _ account: String, shares: [(month: YearMonth, fen: Fen)], monthlyRentFen: Fen, in db: DatabaseContext
    ) async throws {
        let used = try await used(account, months: shares.map(\.month), in: db)
        if let refusal = WithdrawalRules.rentMonthsRefusal(shares: shares, used: used, monthlyRentFen: monthlyRentFen, parameters: db.parameters) {
            throw Problem.rule(refusal.code, refusal.detail)
        }
    }

    /// Records what a request holds: `withdrawal` or `plan` names it.
    static func hold(
        _ account: String, shares: [(month: YearMonth, fen: Fen)], withdrawal: UUID? = nil, plan: UUID? = nil,
        in db: DatabaseContext
    ) async throws {
        for (month, fen) in shares {
            try await db.query(
                """
                INSERT INTO rent_months (account_number, month, withdrawal_id, plan_id, amount_fen)
                VALUES (\(account), \(month), \(withdrawal), \(plan), \(fen))
                """)
        }
    }
}
