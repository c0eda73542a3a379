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
        let fingerprint = "\(body.accountNumber)|\(body.amountFen)|\(paidAt.timeIntervalSince1970)"
        let logger = runtime.logger

        let (recorded, replay): (ContributionPosting.Recorded, Bool) = try await runtime.idempotentTransaction { connection in
            guard let account = try await LockedAccount.lock(body.accountNumber, channel: body.channel, channelTxnId: body.channelTxnId,
                                                             connection: connection, logger: logger) else {
                throw Problem.unknownAccount(body.accountNumber)
            }
            if let existing = account.existing {
                guard existing.fingerprint == fingerprint else {
                    throw Problem.conflict("duplicate_transaction_mismatch",
                                           "channel transaction \(body.channelTxnId) was already received with a different body")
                }
                return (ContributionPosting.Recorded(contributionId: existing.contributionId.uuidString.lowercased(),
                                                     balanceFen: existing.balanceAfter), true)
            }
            guard account.status == "active" else {
                throw Problem.rule("account_not_active", "account \(body.accountNumber) is \(account.status)")
            }
            // History from before the account was opened comes only through the staff import
            // (LegacyImport); a channel cannot report a payment to an account that did not exist.
            let paidOn = BusinessDate.of(paidAt)
            guard paidOn >= account.openedOn else {
                throw Problem.rule("paid_at_before_opening", "paidAt \(body.paidAt) is before the account was opened on \(account.openedOn)")
            }
            let minimum = ContributionRules.minimumPerPayment(county: account.county, schedule: account.schedule, parameters: runtime.parameters) ?? 0
            guard body.amountFen >= minimum else {
                throw Problem.rule("below_minimum_contribution",
                                   "a \(account.schedule.rawValue) payment must be at least \(minimum) fen (§2)",
                                   extensions: ["minimumFen": minimum])
            }
            let input = ContributionPosting.Input(
                accountNumber: body.accountNumber, amountFen: body.amountFen, channel: body.channel, channelTxnId: body.channelTxnId,
                legacyId: nil, origin: .channel, paidAt: paidAt, schedule: account.schedule, fingerprint: fingerprint)
            let recorded = try await ContributionPosting(runtime: runtime)
                .record(input, contributionCountBefore: account.contributionCount, connection: connection)
            return (recorded, false)
        }
        return try HTTPJSON.response(replay ? .ok : .created, recorded)
    }
}
