import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// `POST /v1/imports/contributions` (staff): contribution history from the 2023 pilot
/// (连政办发〔2023〕42号), idempotent on `legacyId`. Each item gets its own outcome; a bad item
/// never blocks the good ones.
struct LegacyImport: Sendable {
    let runtime: ServiceRuntime

    struct Item: Decodable, Sendable {
        var accountNumber: String
        var amountFen: Fen
        var paidAt: String
        var legacyId: String
    }

    struct Outcome: Encodable {
        var legacyId: String
        var status: String  // imported | already_imported | unknown_account | invalid
        var contributionId: String?
        var detail: String?
    }

    struct Summary: Encodable {
        var imported: Int
        var alreadyImported: Int
        var refused: Int
        var results: [Outcome]
    }

    @Sendable func importHistory(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let items = try await HTTPJSON.decode([Item].self, from: request)
        var results: [Outcome] = []
        for item in items { results.append(try await importOne(item)) }
        return try HTTPJSON.response(
            .ok,
            Summary(
                imported: results.count { $0.status == "imported" }, alreadyImported: results.count { $0.status == "already_imported" },
                refused: results.count { $0.status != "imported" && $0.status != "already_imported" }, results: results))
    }

    private func importOne(_ item: Item) async throws -> Outcome {
        guard item.amountFen > 0, !item.legacyId.isEmpty, let paidAt = Instant.parse(item.paidAt) else {
            return Outcome(legacyId: item.legacyId, status: "invalid", detail: "amountFen must be positive and paidAt an RFC 3339 instant")
        }
        return try await runtime.idempotentTransaction { db in
            guard let account = try await LockedAccount.lock(item.accountNumber, legacyId: item.legacyId, in: db) else {
                return Outcome(legacyId: item.legacyId, status: "unknown_account", detail: "no ledger account \(item.accountNumber)")
            }
            if let existing = account.existing {
                return Outcome(legacyId: item.legacyId, status: "already_imported", contributionId: existing.contributionId.uuidString.lowercased())
            }
            let input = ContributionPosting.Input(
                accountNumber: item.accountNumber, amountFen: item.amountFen, channel: nil, channelTxnId: nil, legacyId: item.legacyId,
                origin: .legacyImport, paidAt: paidAt, schedule: account.schedule,
                fingerprint: "\(item.accountNumber)|\(item.amountFen)|\(paidAt.timeIntervalSince1970)")
            let recorded =
                try await ContributionPosting
                .record(input, contributionCountBefore: account.contributionCount, interest: account.interest, in: db)
            return Outcome(legacyId: item.legacyId, status: "imported", contributionId: recorded.contributionId)
        }
    }
}
