import Foundation
import Hummingbird
import PostgresNIO
import ServiceRuntime

/// The read side of transfers: one transfer with every state it passed, an account's transfers.
struct TransferQueries: Sendable {
    let runtime: ServiceRuntime

    static func transferID(_ context: HPFRequestContext) throws -> UUID {
        let text = try context.parameters.require("transferId")
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("unknown_transfer", "no transfer \(text)") }
        return id
    }

    /// The open transfer (01, 02, 08 or 06) of an account in one direction, with one partner or any.
    static func openTransfer(
        _ direction: Transfers.Direction, account: String, partner: String?, in db: DatabaseContext
    ) async throws -> UUID? {
        let rows = try await db.query(
            """
            SELECT transfer_id FROM transfers
            WHERE direction = \(direction.rawValue) AND account_number = \(account) AND (\(partner)::text IS NULL OR partner_city = \(partner))
              AND state IN ('01', '02', '08', '06')
            LIMIT 1
            """)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// `GET /v1/transfers/{transferId}`
    @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let id = try Self.transferID(context)
        let view = try await runtime.reading(logger: context.logger) { db -> Transfers.View? in
            guard let record = try await Transfers.load(id, in: db) else { return nil }
            return try await Transfers.view(record, in: db)
        }
        guard let view else { throw Problem.notFound("unknown_transfer", "no transfer \(id)") }
        try await runtime.authorize(context, account: view.accountNumber, notFound: Problem.notFound("unknown_transfer", "no transfer \(id)"))
        return try HTTPJSON.response(.ok, view)
    }

    /// `GET /v1/accounts/{accountNumber}/transfers`: newest first.
    @Sendable func forAccount(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let account = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: account)
        let views = try await runtime.reading(logger: context.logger) { db -> [Transfers.View] in
            let records = try await Transfers.records(
                try await db.query(
                    """
                    SELECT \(unescaped: Transfers.columns) FROM transfers WHERE account_number = \(account) ORDER BY updated_at DESC LIMIT 100
                    """))
            return try await Transfers.views(records, in: db)
        }
        return try HTTPJSON.response(.ok, ["transfers": views])
    }
}
