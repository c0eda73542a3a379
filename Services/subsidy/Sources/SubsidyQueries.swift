import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Read side: a person's subsidies under the cap, and the budget drawn from the fund's
/// value-added income (增值收益).
struct SubsidyQueries: Sendable {
    let runtime: ServiceRuntime

    struct GrantView: Codable {
        var kind: String
        var amountFen: Fen
        var grantedOn: String
        var reason: String
        var lots: Int
    }

    struct Subsidies: Codable {
        var accountNumber: String
        var totalFen: Fen
        var capFen: Fen
        var remainingCapFen: Fen
        var grants: [GrantView]
    }

    /// `GET /v1/accounts/{accountNumber}/subsidies`: the cap is per person (all their accounts);
    /// grants are this account's, plus the person's social-insurance subsidies (outside the cap).
    @Sendable func subsidies(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        var personRef: String?
        for try await ref in try await runtime.database.query(
            "SELECT person_ref FROM participants WHERE account_number = \(number)"
        ).decode(String.self) { personRef = ref }
        try runtime.authorize(context, account: number, ownerRef: personRef)
        guard let personRef else { throw Problem.unknownAccount(number) }
        var total: Fen = 0
        for try await granted in try await runtime.database.query(
            "SELECT granted_fen FROM person_caps WHERE person_ref = \(personRef)"
        ).decode(Int64.self) { total = granted }
        var grants: [GrantView] = []
        for try await (kind, amount, on, reason, lots) in try await runtime.database.query(
            """
            SELECT kind, amount_fen, granted_on, reason, lots FROM grants WHERE account_number = \(number) ORDER BY granted_on, created_at
            """
        ).decode((String, Int64, BusinessDate, String, Int).self) {
            grants.append(GrantView(kind: kind, amountFen: amount, grantedOn: on.description, reason: reason, lots: lots))
        }
        for try await (month, amount, on) in try await runtime.database.query(
            """
            SELECT month, subsidy_fen, decided_on FROM social_insurance_decisions WHERE person_ref = \(personRef) AND approved ORDER BY month
            """
        ).decode((String, Int64, BusinessDate).self) {
            grants.append(
                GrantView(
                    kind: SubsidyKind.socialInsurance.rawValue, amountFen: amount, grantedOn: on.description,
                    reason: "social-insurance subsidy for \(month) (§12), paid to a bank account", lots: 0))
        }
        let cap = runtime.parameters.lifetimeSubsidyCapFen.value(on: runtime.clock.today)
        return try HTTPJSON.response(.ok, Subsidies(accountNumber: number, totalFen: total, capFen: cap, remainingCapFen: cap - total, grants: grants))
    }

    struct BudgetLine: Codable {
        var year: Int
        var kind: String
        var grantedFen: Fen
        var grants: Int64
    }

    struct Budget: Codable {
        var fundedFrom: String
        var lines: [BudgetLine]
    }

    /// `GET /v1/subsidy-budget`: what was granted per kind and year.
    @Sendable func budget(_ request: Request, context: HPFRequestContext) async throws -> Response {
        var lines: [BudgetLine] = []
        for try await (year, kind, amount, count) in try await runtime.database.query(
            """
            SELECT extract(year FROM granted_on)::int, kind, sum(amount_fen)::bigint, count(*) FROM grants GROUP BY 1, 2
            UNION ALL
            SELECT substr(month, 1, 4)::int, 'social_insurance', sum(subsidy_fen)::bigint, count(*) FROM social_insurance_decisions
            WHERE approved GROUP BY 1
            ORDER BY 1, 2
            """
        ).decode((Int, String, Int64, Int64).self) {
            lines.append(BudgetLine(year: year, kind: kind, grantedFen: amount, grants: count))
        }
        return try HTTPJSON.response(.ok, Budget(fundedFrom: "the fund's value-added income (增值收益), §3", lines: lines))
    }
}
