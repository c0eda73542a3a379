import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Read side of the ledger: balance, postings and the annual tax statement (§9).
struct AccountHandlers: Sendable {
    let runtime: ServiceRuntime

    struct Balance: Codable {
        var accountNumber: String
        var status: String
        var balanceFen: Fen
        var contributedFen: Fen
        var subsidyFen: Fen
        var withdrawnFen: Fen
        var contributionMonths: Int
    }

    @Sendable func balance(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        let currentMonth = runtime.clock.today.yearMonth.description
        let rows = try await runtime.database.query("""
            SELECT status, balance_fen, contributed_fen, subsidy_fen, withdrawn_fen,
                   (SELECT count(*) FROM contribution_months m WHERE m.account_number = a.account_number AND m.month <= \(currentMonth))
            FROM accounts a WHERE account_number = \(number)
            """)
        for try await (status, balance, contributed, subsidy, withdrawn, months) in rows.decode((String, Int64, Int64, Int64, Int64, Int64).self) {
            return try HTTPJSON.response(.ok, Balance(accountNumber: number, status: status, balanceFen: balance, contributedFen: contributed,
                                                      subsidyFen: subsidy, withdrawnFen: withdrawn, contributionMonths: Int(months)))
        }
        throw Problem.unknownAccount(number)
    }

    struct Entry: Codable {
        var seq: Int64
        var kind: String
        var amountFen: Fen
        var balanceAfterFen: Fen
        var at: String
        var businessDate: String
        var reference: String
    }

    struct LedgerPage: Codable {
        var accountNumber: String
        var entries: [Entry]
        var nextAfterSeq: Int64?
    }

    /// Entries oldest first; page with `afterSeq` and `limit` (at most 500).
    @Sendable func ledger(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        let query = QueryInput(request)
        let limit = Int(try query.integer("limit", range: InputRange.pageLimit) ?? 100)
        let afterSeq = try query.integer("afterSeq", range: 0...InputRange.integer.upperBound) ?? 0
        try await requireAccount(number)
        let rows = try await runtime.database.query("""
            SELECT seq, kind, amount_fen, balance_after_fen, at, business_date::text, reference FROM postings
            WHERE account_number = \(number) AND seq > \(afterSeq) ORDER BY seq LIMIT \(limit)
            """)
        var entries: [Entry] = []
        for try await (seq, kind, amount, after, at, date, reference) in rows.decode((Int64, String, Int64, Int64, Date, String, String).self) {
            entries.append(Entry(seq: seq, kind: kind, amountFen: amount, balanceAfterFen: after, at: Instant.format(at),
                                 businessDate: date, reference: reference))
        }
        return try HTTPJSON.response(.ok, LedgerPage(accountNumber: number, entries: entries,
                                                     nextAfterSeq: entries.count == limit ? entries.last?.seq : nil))
    }

    struct TaxStatement: Codable {
        var accountNumber: String
        var year: Int
        var contributedFen: Fen
        var deductibleFen: Fen
        var capFen: Fen
    }

    /// §9: contributions within the city's annual cap are deductible.
    @Sendable func taxStatement(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        guard let year = try QueryInput(request).integer("year").map(Int.init) else {
            throw Problem.malformed("year=YYYY is required", errors: [.init(field: "year", message: "a four-digit year")])
        }
        try await requireAccount(number)
        let rows = try await runtime.database.query("""
            SELECT coalesce(sum(amount_fen), 0)::bigint FROM contributions
            WHERE account_number = \(number) AND origin <> 'transfer_in' AND paid_on >= make_date(\(Int32(year)), 1, 1) AND paid_on < make_date(\(Int32(year + 1)), 1, 1)
            """)
        var contributed: Int64 = 0
        for try await sum in rows.decode(Int64.self) { contributed = sum }
        let cap = ContributionRules.annualTaxCap(parameters: runtime.parameters)
        return try HTTPJSON.response(.ok, TaxStatement(accountNumber: number, year: year, contributedFen: contributed,
                                                       deductibleFen: min(contributed, cap), capFen: cap))
    }

    private func requireAccount(_ number: String) async throws {
        for try await _ in try await runtime.database.query("SELECT 1 FROM accounts WHERE account_number = \(number)") { return }
        throw Problem.unknownAccount(number)
    }
}
