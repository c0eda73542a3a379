import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// A deposit a payment channel collected, as its notification or its statement line reports
/// it: checked against the account and recorded once per (channel, channelTxnId). Both ways in
/// share it, so a deposit posted from a statement and its notification arriving late after all
/// are one deposit (the notification is answered as a replay).
public struct ChannelDeposit: Sendable {
    public var accountNumber: String
    public var amountFen: Fen
    public var channel: PaymentChannel
    public var channelTxnId: String
    public var paidAt: Date

    public init(accountNumber: String, amountFen: Fen, channel: PaymentChannel, channelTxnId: String, paidAt: Date) {
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.channel = channel
        self.channelTxnId = channelTxnId
        self.paidAt = paidAt
    }

    /// What makes two reports of one transaction the same deposit.
    var fingerprint: String { "\(accountNumber)|\(amountFen)|\(paidAt.timeIntervalSince1970)" }

    /// What the deposit's checks decided under the account's lock: it was recorded before (a
    /// replay), or it is to be posted.
    enum Decision: Sendable {
        case replay(ContributionPosting.Recorded)
        case post(LockedAccount)
    }

    /// Records the deposit in the caller's transaction, or finds it recorded before (`replay`).
    /// Throws the rule it breaks: an unknown or inactive account, a payment before the opening,
    /// below the minimum (§2), or the same transaction id with another body.
    public func record(in db: DatabaseContext) async throws -> (recorded: ContributionPosting.Recorded, replay: Bool) {
        switch try await decide(in: db) {
        case .replay(let recorded): (recorded, true)
        case .post(let account): (try await post(account, in: db), false)
        }
    }

    /// The checks, under the account's lock: they write nothing, so a refusal (a `Problem`)
    /// leaves the transaction as it found it, and a deposit group goes on with its others.
    /// `locked` is the account as the group's lock read it (`LockedAccount.lockGroup`); without
    /// it the deposit locks the account itself.
    func decide(in db: DatabaseContext, locked: LockedAccount? = nil) async throws -> Decision {
        let found: LockedAccount? =
            if let locked { locked } else { try await LockedAccount.lock(accountNumber, channel: channel, channelTxnId: channelTxnId, in: db) }
        guard let account = found else { throw Problem.unknownAccount(accountNumber) }
        if let existing = account.existing {
            guard existing.fingerprint == fingerprint else {
                throw Problem.conflict(
                    "duplicate_transaction_mismatch",
                    "channel transaction \(channelTxnId) was already received with a different body")
            }
            return .replay(ContributionPosting.Recorded(contributionId: existing.contributionId.uuidString.lowercased(), balanceFen: existing.balanceAfter))
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
        return .post(account)
    }

    /// Posts the deposit `decide` cleared, on the account it locked.
    func post(_ account: LockedAccount, in db: DatabaseContext) async throws -> ContributionPosting.Recorded {
        try await ContributionPosting.write(try await prepare(account, in: db), in: db)
    }

    /// `post` up to the write (a deposit group writes its accounts' first deposits together).
    func prepare(_ account: LockedAccount, in db: DatabaseContext) async throws -> ContributionPosting.Prepared {
        let input = ContributionPosting.Input(
            accountNumber: accountNumber, amountFen: amountFen, channel: channel, channelTxnId: channelTxnId,
            legacyId: nil, origin: .channel, paidAt: paidAt, schedule: account.schedule, fingerprint: fingerprint)
        return try await ContributionPosting.prepare(
            input, contributionCountBefore: account.contributionCount,
            interest: account.interest, in: db)
    }
}
