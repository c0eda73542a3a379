import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Records one contribution in the caller's transaction: the contribution row, its ledger
/// posting, the months it counts and the `contribution-received` event.
struct ContributionPosting {
    struct Input: Sendable {
        var accountNumber: String
        var amountFen: Fen
        var channel: PaymentChannel?
        var channelTxnId: String?
        var legacyId: String?
        var origin: ContributionOrigin
        var paidAt: Date
        var schedule: ContributionSchedule
        var fingerprint: String
    }

    struct Recorded: Sendable, Codable {
        var contributionId: String
        var balanceFen: Fen
    }

    let runtime: ServiceRuntime

    func record(_ input: Input, contributionCountBefore: Int64, connection: PostgresConnection) async throws -> Recorded {
        let logger = runtime.logger
        let paidOn = BusinessDate.of(input.paidAt)
        let id = UUID()
        let reference = input.channelTxnId.map { "\(input.channel?.rawValue ?? "channel"):\($0)" } ?? "legacy:\(input.legacyId ?? "")"
        let posted = try await Ledger.post(account: input.accountNumber, kind: .contribution, amount: input.amountFen,
                                           reference: reference, at: input.paidAt, businessDate: paidOn,
                                           runtime: runtime, connection: connection)
        // Legacy history counts its own month only; a quarterly payment covers three.
        let months = input.origin == .legacyImport ? [paidOn.yearMonth]
            : ContributionRules.coveredMonths(paidOn: paidOn, schedule: input.schedule, parameters: runtime.parameters)
        try await connection.query("""
            WITH months AS (
                INSERT INTO contribution_months (account_number, month)
                SELECT \(input.accountNumber), unnest(\(months.map(\.description))::text[]) ON CONFLICT DO NOTHING)
            INSERT INTO contributions (contribution_id, account_number, origin, channel, channel_txn_id, legacy_id, amount_fen,
                paid_at, paid_on, fingerprint, posting_seq, balance_after_fen, unconsumed_fen)
            VALUES (\(id), \(input.accountNumber), \(input.origin.rawValue), \(input.channel?.rawValue), \(input.channelTxnId),
                \(input.legacyId), \(input.amountFen), \(input.paidAt), \(paidOn.description)::date, \(input.fingerprint),
                \(posted.seq), \(posted.balanceAfter), \(input.amountFen))
            """, logger: logger)
        let received = ContributionReceived(
            contributionId: id.uuidString.lowercased(), accountNumber: input.accountNumber, amountFen: input.amountFen,
            channel: input.channel, origin: input.origin, paidAt: Instant.format(input.paidAt), paidOn: paidOn,
            monthsCounted: months, balanceAfterFen: posted.balanceAfter, firstContribution: contributionCountBefore == 0,
            sequence: posted.seq, channelTxnId: input.channelTxnId)
        try await runtime.emit(.contributionReceived, received, account: input.accountNumber, on: connection)
        return Recorded(contributionId: received.contributionId, balanceFen: posted.balanceAfter)
    }
}

/// The ledger account as a deposit sees it, locked for the transaction, with the contribution
/// already recorded under the same natural key (channel + channelTxnId, or legacyId), if any.
/// Reading both under the account lock makes two deliveries of one notification serialise.
struct LockedAccount: Sendable {
    struct Existing: Sendable {
        let contributionId: UUID
        let fingerprint: String
        let balanceAfter: Fen
    }

    let status: String
    let county: String
    let schedule: ContributionSchedule
    let contributionCount: Int64
    /// The business date the account was opened (开户日): channel payments before it are refused.
    let openedOn: BusinessDate
    let existing: Existing?

    static func lock(_ number: String, channel: PaymentChannel? = nil, channelTxnId: String? = nil, legacyId: String? = nil,
                     connection: PostgresConnection, logger: Logger) async throws -> LockedAccount? {
        let rows = try await connection.query("""
            SELECT a.status, a.county, a.schedule, a.contribution_count, a.opened_on::text, c.contribution_id, c.fingerprint, c.balance_after_fen
            FROM accounts a
            LEFT JOIN contributions c ON (c.channel = \(channel?.rawValue) AND c.channel_txn_id = \(channelTxnId)) OR c.legacy_id = \(legacyId)
            WHERE a.account_number = \(number)
            FOR UPDATE OF a
            """, logger: logger)
        for try await (status, county, schedule, count, openedOn, id, fingerprint, balance) in rows.decode(
            (String, String, String, Int64, String, UUID?, String?, Int64?).self) {
            guard let opened = BusinessDate(openedOn) else { throw UnknownStoredValue(column: "accounts.opened_on", value: openedOn) }
            let existing = id.map { Existing(contributionId: $0, fingerprint: fingerprint ?? "", balanceAfter: balance ?? 0) }
            return LockedAccount(status: status, county: county, schedule: try ContributionSchedule.stored(schedule, column: "accounts.schedule"),
                                 contributionCount: count, openedOn: opened, existing: existing)
        }
        return nil
    }
}
