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
        /// Deposit interest posted so far (each 30 June, and before money leaves with the whole balance).
        var interestFen: Fen
        /// Interest earned since `interestPeriodFrom` up to the end of today, not yet posted.
        var accruedInterestFen: Fen
        var interestPeriodFrom: BusinessDate
        var withdrawnFen: Fen
        /// Money transferred in from a partner city (§17), apart from own contributions.
        var transferredInFen: Fen
        /// Own contribution months (distinct months with a qualifying payment, up to this month).
        var contributionMonths: Int
        /// The same own months, under the name that sets them apart from the recognised ones.
        var ownContributionMonths: Int
        /// Months a partner city's record brought that are not own months (§17 recognition).
        var recognisedMonths: Int
        /// Own and recognised months without double counting: what the loan rule counts (§4, §5).
        var totalContributionMonths: Int
    }

    @Sendable func balance(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        let today = runtime.clock.today
        let month = today.yearMonth.description
        // One snapshot for the totals and the running sum (an account from before interest was
        // kept has it rebuilt from its postings, exactly as a posting would).
        return try await runtime.transaction(logger: context.logger) { db in
            let rows = try await db.query(
                """
                SELECT status, contributed_fen, subsidy_fen, interest_fen, withdrawn_fen, transferred_in_fen,
                       (SELECT count(*) FROM contribution_months m WHERE m.account_number = a.account_number AND m.month <= \(month)),
                       (SELECT count(*) FROM recognised_months r WHERE r.account_number = a.account_number AND r.month <= \(month)
                            AND NOT EXISTS (SELECT 1 FROM contribution_months m WHERE m.account_number = r.account_number AND m.month = r.month))
                FROM accounts a WHERE account_number = \(number)
                """)
            var found: (String, Int64, Int64, Int64, Int64, Int64, Int64, Int64)?
            for try await row in rows.decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) { found = row }
            guard let (status, contributed, subsidy, interest, withdrawn, transferredIn, months, recognised) = found,
                let (state, unposted) = try await LedgerInterest.peek(
                    number, parameters: runtime.parameters, in: db)
            else { throw Problem.unknownAccount(number) }
            let accrued =
                status == "closed"
                ? 0
                : try Checked.add(unposted, try state.accrual.accruedInterest(balance: state.balance, asOf: today, parameters: runtime.parameters))
            return try HTTPJSON.response(
                .ok,
                Balance(
                    accountNumber: number, status: status, balanceFen: state.balance, contributedFen: contributed, subsidyFen: subsidy,
                    interestFen: interest, accruedInterestFen: accrued, interestPeriodFrom: state.accrual.periodFrom, withdrawnFen: withdrawn,
                    transferredInFen: transferredIn, contributionMonths: Int(months), ownContributionMonths: Int(months),
                    recognisedMonths: Int(recognised), totalContributionMonths: Int(months + recognised)))
        }
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
        let rows = try await runtime.database.query(
            """
            SELECT seq, kind, amount_fen, balance_after_fen, at, business_date, reference FROM postings
            WHERE account_number = \(number) AND seq > \(afterSeq) ORDER BY seq LIMIT \(limit)
            """)
        var entries: [Entry] = []
        for try await (seq, kind, amount, after, at, date, reference) in rows.decode((Int64, String, Int64, Int64, Date, BusinessDate, String).self) {
            entries.append(
                Entry(
                    seq: seq, kind: kind, amountFen: amount, balanceAfterFen: after, at: Instant.format(at),
                    businessDate: date.description, reference: reference))
        }
        return try HTTPJSON.response(
            .ok,
            LedgerPage(
                accountNumber: number, entries: entries,
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
        let rows = try await runtime.database.query(
            """
            SELECT coalesce(sum(amount_fen), 0)::bigint FROM contributions
            WHERE account_number = \(number) AND origin <> 'transfer_in' AND paid_on >= make_date(\(Int32(year)), 1, 1) AND paid_on < make_date(\(Int32(year + 1)), 1, 1)
            """)
        var contributed: Int64 = 0
        for try await sum in rows.decode(Int64.self) { contributed = sum }
        let cap = ContributionRules.annualTaxCap(year: year, parameters: runtime.parameters)
        return try HTTPJSON.response(
            .ok,
            TaxStatement(
                accountNumber: number, year: year, contributedFen: contributed,
                deductibleFen: min(contributed, cap), capFen: cap))
    }

    private func requireAccount(_ number: String) async throws {
        for try await _ in try await runtime.database.query("SELECT 1 FROM accounts WHERE account_number = \(number)") { return }
        throw Problem.unknownAccount(number)
    }
}
