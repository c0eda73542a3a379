import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §17 mutual recognition of contribution records (缴存记录互认): the months a partner city's
/// centre recorded for a person who transferred in count here (the loan service's 6-month rule).
/// A month already recognised (from another transfer) is not counted twice.
enum RecognisedMonths {
    static func record(
        _ months: [YearMonth], account: String, partner: String, transfer: UUID, in db: DatabaseContext
    ) async throws {
        guard !months.isEmpty else { return }
        let rows = try await db.query(
            """
            INSERT INTO recognised_months (account_number, month, partner_city, transfer_id)
            SELECT \(account), m, \(partner), \(transfer) FROM unnest(\(months)::text[]) AS m
            ON CONFLICT DO NOTHING RETURNING month
            """)
        var added: [YearMonth] = []
        for try await month in rows.decode(YearMonth.self) { added.append(month) }
        guard !added.isEmpty else { return }
        let event = MonthsRecognised(
            accountNumber: account, transferId: transfer.uuidString.lowercased(), partnerCity: partner,
            months: added.sorted(), recognisedOn: db.today)
        try await db.emit(.monthsRecognised, event, account: account)
    }

    struct Month: Codable, Sendable {
        var month: String
        var partnerCity: String
        var transferId: String
    }

    /// `GET /v1/accounts/{accountNumber}/recognised-months`
    static func list(runtime: ServiceRuntime) -> @Sendable (Request, HPFRequestContext) async throws -> Response {
        { _, context in
            let account = try context.parameters.require("accountNumber")
            try await runtime.authorize(context, account: account)
            let months = try await runtime.reading(logger: context.logger) { db -> [Month]? in
                guard try await RegionalReadModels.holder(account, in: db) != nil else { return nil }
                var months: [Month] = []
                for try await (month, city, transfer) in try await db.query(
                    """
                    SELECT month, partner_city, transfer_id FROM recognised_months WHERE account_number = \(account) ORDER BY month
                    """
                ).decode((String, String, UUID).self) {
                    months.append(Month(month: month, partnerCity: city, transferId: transfer.uuidString.lowercased()))
                }
                return months
            }
            guard let months else { throw Problem.unknownAccount(account) }
            struct Body: Codable { var accountNumber: String; var count: Int; var months: [Month] }
            return try HTTPJSON.response(.ok, Body(accountNumber: account, count: months.count, months: months))
        }
    }
}
