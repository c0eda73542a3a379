import Policy

/// Where a contribution came from.
public enum ContributionOrigin: String, Codable, Sendable {
    case channel  // a payment channel notification (WeChat Pay, Alipay, bank auto-debit)
    case legacyImport = "legacy_import"  // history from the 2023 pilot (连政办发〔2023〕42号)
}

/// `hpf.contribution.contribution-received.v1`: a contribution posted to the ledger.
/// Each contribution is also a lot for the annual subsidy (§3), so it carries what that model needs.
public struct ContributionReceived: Codable, Sendable, Equatable {
    public var contributionId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var channel: PaymentChannel?
    /// The channel's own transaction id (origin `channel`): what its statement lists (对账).
    public var channelTxnId: String?
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

    public init(
        contributionId: String, accountNumber: String, amountFen: Fen, channel: PaymentChannel?, origin: ContributionOrigin,
        paidAt: String, paidOn: BusinessDate, monthsCounted: [YearMonth], balanceAfterFen: Fen,
        firstContribution: Bool, sequence: Int64, channelTxnId: String? = nil
    ) {
        self.contributionId = contributionId
        self.channelTxnId = channelTxnId
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

/// How much of one contribution lot (`lotId` = the contribution's id) a debit took or a
/// reversal gave back. The subsidy service keeps its lots right from these (§3 decisions).
public struct LotShare: Codable, Sendable, Equatable {
    public var lotId: String
    public var amountFen: Fen
    public init(lotId: String, amountFen: Fen) {
        self.lotId = lotId
        self.amountFen = amountFen
    }
}

/// `hpf.contribution.debit-posted.v1`: money left the account (a withdrawal or a transfer out).
/// `consumedLots` names the contributions it took, newest first; what exceeds them came from
/// subsidies and interest, which are not lots.
public struct DebitPosted: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case withdrawal
        case transferOut = "transfer_out"
        case loanRepayment = "loan_repayment"  // repaying an HPF loan from the balance
    }
    public var debitId: String
    public var accountNumber: String
    public var kind: Kind
    public var amountFen: Fen
    public var postedOn: BusinessDate
    public var balanceAfterFen: Fen
    public var sequence: Int64
    /// Absent only in events written before the ledger tracked lots.
    public var consumedLots: [LotShare]?
    /// Set when the debit closes the account (the whole balance).
    public var closureReason: ClosureReason?
    /// Deposit interest settled up to the day just before this debit (a closure, a transfer out,
    /// a withdrawal of the whole balance), posted first; a closure's or transfer's `amountFen`
    /// includes it. Absent when none was settled.
    public var interestFen: Fen?

    public init(
        debitId: String, accountNumber: String, kind: Kind, amountFen: Fen, postedOn: BusinessDate, balanceAfterFen: Fen,
        sequence: Int64, consumedLots: [LotShare]? = nil, closureReason: ClosureReason? = nil, interestFen: Fen? = nil
    ) {
        self.interestFen = interestFen
        self.debitId = debitId
        self.accountNumber = accountNumber
        self.kind = kind
        self.amountFen = amountFen
        self.postedOn = postedOn
        self.balanceAfterFen = balanceAfterFen
        self.sequence = sequence
        self.consumedLots = consumedLots
        self.closureReason = closureReason
    }
}

/// `hpf.contribution.debit-refused.v1`: the ledger did not debit (`insufficient_balance`,
/// `account_not_active`, `unknown_account`, `zero_balance`); nothing moved.
public struct DebitRefused: Codable, Sendable, Equatable {
    public var debitId: String
    public var accountNumber: String
    public var code: String
    public var detail: String
    public var balanceFen: Fen?

    public init(debitId: String, accountNumber: String, code: String, detail: String, balanceFen: Fen?) {
        self.debitId = debitId
        self.accountNumber = accountNumber
        self.code = code
        self.detail = detail
        self.balanceFen = balanceFen
    }
}

/// `hpf.contribution.debit-reversed.v1`: a `reversal` posting gave a debit back (its payout
/// failed) and restored the lots it had consumed.
public struct DebitReversed: Codable, Sendable, Equatable {
    public var debitId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var code: String
    public var reversedOn: BusinessDate
    public var balanceAfterFen: Fen
    public var sequence: Int64
    public var restoredLots: [LotShare]

    public init(
        debitId: String, accountNumber: String, amountFen: Fen, code: String, reversedOn: BusinessDate, balanceAfterFen: Fen,
        sequence: Int64, restoredLots: [LotShare]
    ) {
        self.debitId = debitId
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.code = code
        self.reversedOn = reversedOn
        self.balanceAfterFen = balanceAfterFen
        self.sequence = sequence
        self.restoredLots = restoredLots
    }
}

/// `hpf.contribution.interest-settled.v1`: deposit interest posted to an account (equal rights, §4; POLICY.md "Deposit interest"): the
/// daily-balance (积数) method over `periodFrom`...`periodThrough`, on each 30 June for the interest
/// year, or up to the day before a closure, a transfer out or a withdrawal of the whole balance.
public struct InterestSettled: Codable, Sendable, Equatable {
    public enum Occasion: String, Codable, Sendable {
        case annual  // 年度结息, each 30 June
        case closure
        case transferOut = "transfer_out"
        case fullWithdrawal = "full_withdrawal"
    }
    public var accountNumber: String
    public var occasion: Occasion
    public var periodFrom: BusinessDate
    public var periodThrough: BusinessDate
    public var interestFen: Fen
    public var postedOn: BusinessDate
    public var balanceAfterFen: Fen
    public var sequence: Int64

    public init(
        accountNumber: String, occasion: Occasion, periodFrom: BusinessDate, periodThrough: BusinessDate, interestFen: Fen,
        postedOn: BusinessDate, balanceAfterFen: Fen, sequence: Int64
    ) {
        self.accountNumber = accountNumber
        self.occasion = occasion
        self.periodFrom = periodFrom
        self.periodThrough = periodThrough
        self.interestFen = interestFen
        self.postedOn = postedOn
        self.balanceAfterFen = balanceAfterFen
        self.sequence = sequence
    }
}

/// `hpf.contribution.account-closed.v1`: the closure withdrawal was paid; the account takes no
/// more contributions or debits.
public struct AccountClosed: Codable, Sendable, Equatable {
    public var accountNumber: String
    public var closureReason: ClosureReason
    public var closedOn: BusinessDate

    public init(accountNumber: String, closureReason: ClosureReason, closedOn: BusinessDate) {
        self.accountNumber = accountNumber
        self.closureReason = closureReason
        self.closedOn = closedOn
    }
}
