import Policy

/// What a channel's daily statement (对账单) showed that our records did not, and what was done
/// about it. The ledger reconciles deposit statements, the withdrawal service payout statements.
public enum DiscrepancyKind: String, Codable, Sendable, CaseIterable {
    /// The channel collected a deposit whose notification never reached us: posted from the line
    /// (or flagged, with the rule that refused it, e.g. an account closed since).
    case depositNotNotified = "deposit_not_notified"
    /// We posted a deposit the channel's statement for that day does not list: flagged.
    case depositNotInStatement = "deposit_not_in_statement"
    /// The channel paid a payout whose confirmation never reached us: settled as paid from the line.
    case payoutNotConfirmed = "payout_not_confirmed"
    /// We hold a payout as paid by this channel that its statement for that day does not list: flagged.
    case payoutNotInStatement = "payout_not_in_statement"
    /// The line names a deposit or payout we know with another amount or account, or a payout we
    /// had already reversed as failed (`paid_after_failure`), or another channel confirmed
    /// (`paid_by_another_channel`): flagged.
    case amountMismatch = "amount_mismatch"
    /// The line names a payout we never asked for: flagged.
    case unknownPayout = "unknown_payout"
}

/// What reconciliation did about a discrepancy.
public enum DiscrepancyResolution: String, Codable, Sendable {
    /// A lost deposit notification, posted to the ledger from the statement line.
    case posted
    /// A lost payout confirmation, settled as paid from the statement line.
    case settled
    /// Left for staff to investigate: no money moved.
    case flagged
}

/// `hpf.contribution.statement-discrepancy.v1` and `hpf.withdrawal.statement-discrepancy.v1`:
/// one discrepancy between a channel's statement and our records, raised once per kind and
/// reference whatever statement repeats it. No personal data: the line's reference, the account
/// number and the amounts.
public struct StatementDiscrepancy: Codable, Sendable, Equatable {
    public var statementId: String
    public var channel: PaymentChannel
    public var statementDate: BusinessDate
    public var kind: DiscrepancyKind
    /// The channel's transaction id (deposits) or our payout id (payouts).
    public var reference: String
    public var accountNumber: String?
    /// What we hold, when we hold it.
    public var ourAmountFen: Fen?
    /// What the statement says, when it lists it.
    public var channelAmountFen: Fen?
    public var resolution: DiscrepancyResolution
    /// Why a line could not be posted or settled, or what differs (`paid_after_failure`, `account_differs`).
    public var code: String?

    public init(
        statementId: String, channel: PaymentChannel, statementDate: BusinessDate, kind: DiscrepancyKind, reference: String,
        accountNumber: String?, ourAmountFen: Fen?, channelAmountFen: Fen?, resolution: DiscrepancyResolution, code: String?
    ) {
        self.statementId = statementId
        self.channel = channel
        self.statementDate = statementDate
        self.kind = kind
        self.reference = reference
        self.accountNumber = accountNumber
        self.ourAmountFen = ourAmountFen
        self.channelAmountFen = channelAmountFen
        self.resolution = resolution
        self.code = code
    }
}
