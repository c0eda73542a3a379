import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// `POST /v1/contributions`: a payment channel's notification. Idempotent on
/// (channel, channelTxnId): a replay returns the original result with 200; the same id with a
/// different body is a 409.
struct ContributionHandlers: Sendable {
    let runtime: ServiceRuntime
    /// The deposits being recorded together (group commit), one per process.
    let deposits: DepositGroups

    struct Body: Decodable, Sendable {
        var accountNumber: String
        var amountFen: Fen
        var channel: PaymentChannel
        var channelTxnId: String
        var paidAt: String
    }

    /// How far in the future a channel's clock may be before we refuse the timestamp.
    static let clockSkewSeconds: TimeInterval = 300

    @Sendable func receive(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(Body.self, from: request)
        // A channel notifies only its own payments: WeChat Pay cannot report an Alipay payment.
        if let channel = context.caller?.channelId, channel != body.channel.rawValue {
            throw Problem.forbidden(code: "channel_mismatch", "channel \(channel) cannot notify a \(body.channel.rawValue) payment")
        }
        try await runtime.authorize(context, account: body.accountNumber)
        var errors: [Problem.FieldError] = []
        if body.amountFen <= 0 { errors.append(.init(field: "amountFen", message: "a positive number of fen")) }
        if body.channelTxnId.isEmpty || body.channelTxnId.count > 128 { errors.append(.init(field: "channelTxnId", message: "1 to 128 characters")) }
        let paidAt = Instant.parse(body.paidAt)
        if paidAt == nil { errors.append(.init(field: "paidAt", message: "an RFC 3339 instant")) }
        guard errors.isEmpty, let paidAt else { throw Problem.malformed("some fields are invalid", errors: errors) }
        if paidAt.timeIntervalSince(runtime.clock.now) > Self.clockSkewSeconds {
            throw Problem.rule("paid_at_in_future", "paidAt \(body.paidAt) is in the future")
        }
        let deposit = ChannelDeposit(
            accountNumber: body.accountNumber, amountFen: body.amountFen, channel: body.channel,
            channelTxnId: body.channelTxnId, paidAt: paidAt)
        let (recorded, replay) = try await deposits.record(deposit, logger: context.logger)
        return try HTTPJSON.response(replay ? .ok : .created, recorded)
    }
}
