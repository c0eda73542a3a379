import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Staff end a transfer that the partner left hanging (no answer, or negotiation, state 06, that
/// went nowhere): it fails (40) and the partner is told. For a transfer out whose balance has
/// already left, the ledger reverses the debit and the account is active again; for a transfer in
/// nothing was credited, and the partner gives back what it took.
struct TransferResolution: Sendable {
    let runtime: ServiceRuntime
    let feed: PartnerFeed

    struct Body: Codable, Sendable {
        var code: String
        var detail: String?
    }

    /// `POST /v1/transfers/{transferId}/failure` (staff)
    @Sendable func fail(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try TransferQueries.transferID(context)
        let body = try await HTTPJSON.decode(Body.self, from: request)
        guard !body.code.isEmpty, body.code.count <= 64 else {
            throw Problem.malformed("code is required", errors: [.init(field: "code", message: "1 to 64 characters")])
        }
        let record = try await runtime.transaction { connection -> Transfers.Record in
            guard let current = try await Transfers.load(id, connection: connection, logger: runtime.logger) else {
                throw Problem.notFound("unknown_transfer", "no transfer \(id)")
            }
            // A transfer in that the partner has not taken is cancelled by the applicant instead (01);
            // one whose credit is under way (08) ends with the ledger's answer.
            let open: [TransferState] = current.direction == .in ? [.letterAccepted, .negotiating] : [.accountDataChecked, .negotiating]
            guard let failed = try await Transfers.advance(id, from: open, to: .failed, code: body.code, detail: body.detail,
                                                           runtime: runtime, connection: connection) else {
                throw Problem.conflict("transfer_not_failable",
                                       "the transfer is in state \(current.state.rawValue) (\(current.state.name)); staff can fail it only in \(open.map(\.rawValue).joined(separator: " or "))")
            }
            let ours = feed.ourCity
            let outcome = TransferOutcome(letterNumber: failed.letterNumber, receivingCity: failed.direction == .in ? ours : failed.partnerCity,
                                          sendingCity: failed.direction == .in ? failed.partnerCity : ours, code: body.code, detail: body.detail)
            try await feed.send(.transferFailed, outcome, letter: failed.letterNumber, account: failed.account, on: connection)
            if failed.direction == .out {
                let step = TransferOutStep(transferId: failed.id.uuidString.lowercased(), accountNumber: failed.account,
                                           letterNumber: failed.letterNumber, receivingCity: failed.partnerCity, on: runtime.clock.today,
                                           code: body.code)
                try await runtime.emit(.transferOutFailed, step, account: failed.account, on: connection)
            }
            return failed
        }
        let view = try await runtime.database.withConnection { try await Transfers.view(record, connection: $0, logger: runtime.logger) }
        return try HTTPJSON.response(.ok, view)
    }
}
