import Policy

/// Where a contribution came from.
public enum ContributionOrigin: String, Codable, Sendable {
    case channel // a payment channel notification (WeChat Pay, Alipay, bank auto-debit)
    case legacyImport = "legacy_import" // history from the 2023 pilot (连政办发〔2023〕42号)
}

/// `hpf.contribution.contribution-received.v1`: a contribution posted to the ledger.
/// Each contribution is also a lot for the annual subsidy (§3), so it carries what that model needs.
public struct ContributionReceived: Codable, Sendable, Equatable {
    public var contributionId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var channel: PaymentChannel?
    public var origin: ContributionOrigin
    /// RFC 3339 instant the payer paid.
    public var paidAt: String
    /// The business date of `paidAt` (Asia/Shanghai): the lot's start date.
    public var paidOn: BusinessDate
    public var monthsCounted: [YearMonth]
    public var balanceAfterFen: Fen
    public var firstContribution: Bool
    /// Per-account posting sequence number: consumers can detect gaps and order.
    public var sequence: Int64

    public init(contributionId: String, accountNumber: String, amountFen: Fen, channel: PaymentChannel?, origin: ContributionOrigin,
                paidAt: String, paidOn: BusinessDate, monthsCounted: [YearMonth], balanceAfterFen: Fen,
                firstContribution: Bool, sequence: Int64) {
        self.contributionId = contributionId
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.channel = channel
        self.origin = origin
        self.paidAt = paidAt
        self.paidOn = paidOn
        self.monthsCounted = monthsCounted
        self.balanceAfterFen = balanceAfterFen
        self.firstContribution = firstContribution
        self.sequence = sequence
    }
}

/// `hpf.contribution.subsidy-credited.v1`: the ledger posted a granted subsidy.
public struct SubsidyCredited: Codable, Sendable, Equatable {
    public var accountNumber: String
    public var grantId: String
    public var amountFen: Fen
    public var balanceAfterFen: Fen
    public var sequence: Int64

    public init(accountNumber: String, grantId: String, amountFen: Fen, balanceAfterFen: Fen, sequence: Int64) {
        self.accountNumber = accountNumber
        self.grantId = grantId
        self.amountFen = amountFen
        self.balanceAfterFen = balanceAfterFen
        self.sequence = sequence
    }
}

/// `hpf.contribution.debit-posted.v1`: money left the account (a withdrawal or a transfer out).
/// The subsidy service consumes the newest contribution lots first by `amountFen`.
public struct DebitPosted: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case withdrawal, transferOut = "transfer_out" }
    public var debitId: String
    public var accountNumber: String
    public var kind: Kind
    public var amountFen: Fen
    public var postedOn: BusinessDate
    public var balanceAfterFen: Fen
    public var sequence: Int64

    public init(debitId: String, accountNumber: String, kind: Kind, amountFen: Fen, postedOn: BusinessDate, balanceAfterFen: Fen, sequence: Int64) {
        self.debitId = debitId
        self.accountNumber = accountNumber
        self.kind = kind
        self.amountFen = amountFen
        self.postedOn = postedOn
        self.balanceAfterFen = balanceAfterFen
        self.sequence = sequence
    }
}
