import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// The payment-channel adapter's inbound half: the channel (bank, WeChat Pay, Alipay) pays a
/// `payout-requested` instruction and confirms asynchronously on
/// `POST /v1/payouts/{payoutId}/confirmation`. Idempotent on the payout id: a replay returns the
/// first answer and changes nothing; a different outcome for a confirmed payout is a 409.
struct PayoutConfirmations: Sendable {
    let runtime: ServiceRuntime

    struct Body: Codable, Sendable, Equatable {
        enum Outcome: String, Codable, Sendable { case paid, failed }
        var outcome: Outcome
        /// The channel's own reference for the transfer.
        var channelRef: String
        /// Why the channel could not pay (e.g. `payee_account_closed`); defaults to `payout_failed`.
        var failureCode: String?
    }

    @Sendable func confirm(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let text = try context.parameters.require("payoutId")
        guard let payoutId = UUID(uuidString: text) else { throw Problem.notFound("unknown_payout", "no payout \(text)") }
        let body = try await HTTPJSON.decode(Body.self, from: request)
        if body.channelRef.isEmpty || body.channelRef.count > 128 {
            throw Problem.malformed("channelRef must be 1 to 128 characters", errors: [.init(field: "channelRef", message: "1 to 128 characters")])
        }
        let failureCode = body.outcome == .failed ? (body.failureCode ?? "payout_failed") : nil
        let outcome = "\(body.outcome.rawValue)|\(failureCode ?? "")"
        let record = try await runtime.idempotentTransaction(logger: context.logger) { db -> Withdrawals.Record in
            guard let current = try await Withdrawals.lock(payout: payoutId, in: db) else {
                throw Problem.notFound("unknown_payout", "no payout \(text)")
            }
            let id = current.id
            try await runtime.authorize(context, account: current.account, in: db)
            if let confirmed = current.payoutOutcome {
                guard confirmed == outcome, current.channelRef == body.channelRef else {
                    throw Problem.conflict("payout_already_confirmed", "payout \(text) was already confirmed as \(confirmed.split(separator: "|").first ?? "")")
                }
                return current
            }
            switch body.outcome {
            case .paid:
                return try await Self.paid(current, channelRef: body.channelRef, channel: context.caller?.channelId, in: db)
            case .failed:
                try await db.query(
                    """
                    UPDATE withdrawals SET payout_outcome = \(outcome), channel_ref = \(body.channelRef), payout_channel = \(context.caller?.channelId)
                    WHERE withdrawal_id = \(id)
                    """)
                guard
                    let failing = try await Withdrawals.advance(
                        id, from: .paying, to: .reversing, code: failureCode,
                        detail: "the payment channel could not pay", in: db)
                else {
                    throw Problem.conflict("payout_not_in_progress", "withdrawal \(id) is \(current.stage.rawValue)")
                }
                let event = PayoutFailed(
                    withdrawalId: id.uuidString.lowercased(), accountNumber: failing.account,
                    amountFen: failing.amountFen ?? 0, code: failureCode ?? "payout_failed")
                try await db.emit(.payoutFailed, event, account: failing.account)
                return failing
            }
        }
        return try HTTPJSON.response(.ok, try WithdrawalView(record, cipher: runtime.personalData))
    }

    /// Settles a payout the channel paid, in the caller's transaction (with the withdrawal locked):
    /// from its confirmation, or from its line on the channel's payout statement when the
    /// confirmation was lost. `channel` is the channel that paid (reconciliation asks it).
    static func paid(
        _ current: Withdrawals.Record, channelRef: String, channel: String?, paidOn: BusinessDate? = nil, in db: DatabaseContext
    ) async throws -> Withdrawals.Record {
        let id = current.id
        try await db.query(
            """
            UPDATE withdrawals SET payout_outcome = 'paid|', channel_ref = \(channelRef), payout_channel = \(channel) WHERE withdrawal_id = \(id)
            """)
        let today = paidOn ?? db.today
        guard let paid = try await Withdrawals.advance(id, from: .paying, to: .paid, paidOn: today, in: db) else {
            throw Problem.conflict("payout_not_in_progress", "withdrawal \(id) is \(current.stage.rawValue)")
        }
        let event = WithdrawalPaid(
            withdrawalId: id.uuidString.lowercased(), accountNumber: paid.account, reason: paid.reason,
            amountFen: paid.amountFen ?? 0, closureReason: paid.closureReason, paidOn: today, channelRef: channelRef)
        try await db.emit(.withdrawalPaid, event, account: paid.account)
        if paid.rentPlanId != nil { try await RentPlans.monthPaid(paid, in: db) }
        return paid
    }
}
