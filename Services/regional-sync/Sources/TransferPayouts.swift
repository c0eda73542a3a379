import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Transfer out, the money (§17): once the ledger has debited the whole balance, our bank pays
/// it to the receiving centre (`transfer-payout-instruction` on the channel-only topic) and
/// confirms on `POST /v1/transfer-payouts/{payoutId}/confirmation`. Paid: the transfer-out data
/// goes to the partner (08), and its confirmation closes the account. Failed: the transfer is
/// refused (13), the partner told, and the ledger reverses the debit.
struct TransferPayouts: Sendable {
    let runtime: ServiceRuntime
    let feed: PartnerFeed

    /// Asks our bank to pay a debited transfer out (once per transfer).
    func request(_ record: Transfers.Record, in db: DatabaseContext) async throws {
        guard let amount = record.amountFen, amount > 0 else { return }
        let payoutId = UUID()
        var fresh = false
        for try await _ in try await db.query(
            """
            INSERT INTO transfer_payouts (payout_id, transfer_id, amount_fen) VALUES (\(payoutId), \(record.id), \(amount))
            ON CONFLICT (transfer_id) DO NOTHING RETURNING 1
            """)
        { fresh = true }
        guard fresh else { return }
        let instruction = TransferPayoutInstruction(
            payoutId: payoutId.uuidString.lowercased(), transferId: record.id.uuidString.lowercased(),
            letterNumber: record.letterNumber, receivingCity: record.partnerCity, amountFen: amount,
            requestedOn: runtime.clock.today)
        try await db.emit(.transferPayoutInstruction, instruction, account: record.account)
    }

    struct Confirmation: Codable, Sendable {
        enum Outcome: String, Codable, Sendable { case paid, failed }
        var outcome: Outcome
        /// The bank's own reference for the payment.
        var channelRef: String
        /// Why the bank could not pay; defaults to `payout_failed`.
        var failureCode: String?
    }

    /// `POST /v1/transfer-payouts/{payoutId}/confirmation` (the `bank` channel). Idempotent on
    /// the payout id: the same confirmation again answers the same; a different one is a 409.
    @Sendable func confirm(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let text = try context.parameters.require("payoutId")
        guard let payoutId = UUID(uuidString: text) else { throw Problem.notFound("unknown_payout", "no transfer payout \(text)") }
        let body = try await HTTPJSON.decode(Confirmation.self, from: request)
        var errors: [Problem.FieldError] = []
        if !(1...128).contains(body.channelRef.count) { errors.append(.init(field: "channelRef", message: "1 to 128 characters")) }
        if let code = body.failureCode, !(1...64).contains(code.count) { errors.append(.init(field: "failureCode", message: "1 to 64 characters")) }
        guard errors.isEmpty else { throw Problem.malformed("some fields are invalid", errors: errors) }
        let failureCode = body.outcome == .failed ? (body.failureCode ?? "payout_failed") : nil
        let view = try await runtime.transaction(logger: context.logger) { db -> Transfers.View in
            var found: (transfer: UUID, outcome: String?, ref: String?, failure: String?)?
            for try await row in try await db.query(
                """
                SELECT transfer_id, outcome, channel_ref, failure_code FROM transfer_payouts WHERE payout_id = \(payoutId) FOR UPDATE
                """
            ).decode((UUID, String?, String?, String?).self) { found = row }
            guard let found, let record = try await Transfers.load(found.transfer, in: db) else {
                throw Problem.notFound("unknown_payout", "no transfer payout \(text)")
            }
            try await runtime.authorize(context, account: record.account, in: db)
            if let outcome = found.outcome {
                guard outcome == body.outcome.rawValue, found.ref == body.channelRef, found.failure == failureCode else {
                    throw Problem.conflict("payout_already_confirmed", "transfer payout \(text) was already confirmed as \(outcome)")
                }
                return try await Transfers.view(record, in: db)
            }
            try await db.query(
                """
                UPDATE transfer_payouts SET outcome = \(body.outcome.rawValue), channel_ref = \(body.channelRef), failure_code = \(failureCode),
                    confirmed_at = now()
                WHERE payout_id = \(payoutId)
                """)
            let current: Transfers.Record
            switch body.outcome {
            case .paid: current = try await paid(record, in: db)
            case .failed: current = try await failed(record, code: failureCode ?? "payout_failed", in: db)
            }
            return try await Transfers.view(current, in: db)
        }
        return try HTTPJSON.response(.ok, view)
    }

    /// The money is with the receiving centre: the transfer-out data follows it (08).
    private func paid(_ record: Transfers.Record, in db: DatabaseContext) async throws -> Transfers.Record {
        var stored: String?
        for try await json in try await db.query(
            "SELECT out_data::text FROM transfers WHERE transfer_id = \(record.id)"
        ).decode(String?.self) { stored = json }
        guard let stored, let data = try? JSONDecoder().decode(TransferOutData.self, from: Data(stored.utf8)),
            let sent = try await Transfers.advance(
                record.id, from: [.letterAccepted], to: .accountDataChecked, in: db)
        else {
            throw Problem.conflict("payout_not_in_progress", "transfer \(record.id) is in state \(record.state.rawValue)")
        }
        try await feed.send(.transferOutData, data, letter: data.letterNumber, account: sent.account, in: db)
        return sent
    }

    /// The bank could not pay: the transfer is refused (13), the partner told, the debit reversed.
    private func failed(_ record: Transfers.Record, code: String, in db: DatabaseContext) async throws -> Transfers.Record {
        let detail = "our bank could not pay the transferred balance"
        guard
            let refused = try await Transfers.advance(
                record.id, from: [.letterAccepted], to: .transferOutRefused, code: code, detail: detail,
                in: db)
        else {
            throw Problem.conflict("payout_not_in_progress", "transfer \(record.id) is in state \(record.state.rawValue)")
        }
        let answer = TransferAnswer(
            letterNumber: refused.letterNumber, receivingCity: refused.partnerCity, sendingCity: feed.ourCity,
            code: code, detail: detail)
        try await feed.send(.transferRefused, answer, letter: answer.letterNumber, account: refused.account, in: db)
        try await db.emit(.transferOutFailed, refused.outStep(on: runtime.clock.today, code: code), account: refused.account)
        return refused
    }
}
