import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// A deposit a payment channel collected, as its notification or its statement line reports
/// it: checked against the account and recorded once per (channel, channelTxnId). Both ways in
/// share it, so a deposit posted from a statement and its notification arriving late after all
/// are one deposit (the notification is answered as a replay).
struct ChannelDeposit: Sendable {
    var accountNumber: String
    var amountFen: Fen
    var channel: PaymentChannel
    var channelTxnId: String
    var paidAt: Date

    /// What makes two reports of one transaction the same deposit.
    var fingerprint: String { "\(accountNumber)|\(amountFen)|\(paidAt.timeIntervalSince1970)" }

    /// Records the deposit in the caller's transaction, or finds it recorded before (`replay`).
    /// Throws the rule it breaks: an unknown or inactive account, a payment before the opening,
    /// below the minimum (§2), or the same transaction id with another body.
    func record(in db: DatabaseContext) async throws -> (recorded: ContributionPosting.Recorded, replay: Bool) {
        guard
            let account = try await LockedAccount.lock(
                accountNumber, channel: channel, channelTxnId: channelTxnId,
                in: db)
        else {
            throw Problem.unknownAccount(accountNumber)
        }
        if let existing = account.existing {
            guard existing.fingerprint == fingerprint else {
                throw Problem.conflict(
                    "duplicate_transaction_mismatch",
                    "channel transaction \(channelTxnId) was already received with a different body")
            }
            return (ContributionPosting.Recorded(contributionId: existing.contributionId.uuidString.lowercased(), balanceFen: existing.balanceAfter), true)
        }
        guard account.status == "active" else {
            throw Problem.rule("account_not_active", "account \(accountNumber) is \(account.status)")
        }
        // History from before the account was opened comes only through the staff import
        // (LegacyImport); a channel cannot report a payment to an account that did not exist.
        let paidOn = BusinessDate.of(paidAt)
        guard paidOn >= account.openedOn else {
            throw Problem.rule("paid_at_before_opening", "paidAt \(Instant.format(paidAt)) is before the account was opened on \(account.openedOn)")
        }
        let minimum =
            ContributionRules.minimumPerPayment(
                county: account.county, schedule: account.schedule, on: paidOn,
                parameters: db.parameters) ?? 0
        guard amountFen >= minimum else {
            throw Problem.rule(
                "below_minimum_contribution", "a \(account.schedule.rawValue) payment must be at least \(minimum) fen (§2)",
                extensions: ["minimumFen": minimum])
        }
        let input = ContributionPosting.Input(
            accountNumber: accountNumber, amountFen: amountFen, channel: channel, channelTxnId: channelTxnId,
            legacyId: nil, origin: .channel, paidAt: paidAt, schedule: account.schedule, fingerprint: fingerprint)
        let recorded = try await ContributionPosting(runtime: db.runtime).record(
            input, contributionCountBefore: account.contributionCount,
            interest: account.interest, in: db)
        return (recorded, false)
    }
}
