import Policy

public enum SubsidyKind: String, Codable, Sendable, CaseIterable {
    case opening  // 首次开户缴存补贴 (§3)
    case annual  // 存储满1年缴存补贴 (§3)
    case socialInsurance = "social_insurance"  // 社会保险补贴 (§12), paid to a bank account, outside the cap
}

/// `hpf.subsidy.subsidy-granted.v1`: an HPF subsidy (§3) to credit to the account. The ledger
/// consumes it and posts a `subsidy` entry; `grantId` is the posting's reference.
public struct SubsidyGranted: Codable, Sendable, Equatable {
    public var grantId: String
    public var accountNumber: String
    public var kind: SubsidyKind
    public var amountFen: Fen
    public var grantedOn: BusinessDate
    public var reason: String
    /// How many contribution lots an annual grant covers (1 for an opening subsidy).
    public var lots: Int
    /// What the person may still receive under the lifetime cap after this grant.
    public var remainingCapFen: Fen

    public init(
        grantId: String, accountNumber: String, kind: SubsidyKind, amountFen: Fen, grantedOn: BusinessDate, reason: String,
        lots: Int, remainingCapFen: Fen
    ) {
        self.grantId = grantId
        self.accountNumber = accountNumber
        self.kind = kind
        self.amountFen = amountFen
        self.grantedOn = grantedOn
        self.reason = reason
        self.lots = lots
        self.remainingCapFen = remainingCapFen
    }
}

/// `hpf.subsidy.social-insurance-subsidy-decided.v1`: for the payment system, which pays an
/// approved subsidy to the person's bank account (§12). Keyed by account number when the person
/// has one, otherwise by `personRef`.
public struct SocialInsuranceSubsidyDecided: Codable, Sendable, Equatable {
    public var decisionId: String
    public var personRef: String
    public var accountNumber: String?
    public var month: YearMonth
    public var paidFen: Fen
    public var approved: Bool
    public var subsidyFen: Fen
    public var reason: String
    public var monthsSubsidised: Int

    public init(
        decisionId: String, personRef: String, accountNumber: String?, month: YearMonth, paidFen: Fen, approved: Bool,
        subsidyFen: Fen, reason: String, monthsSubsidised: Int
    ) {
        self.decisionId = decisionId
        self.personRef = personRef
        self.accountNumber = accountNumber
        self.month = month
        self.paidFen = paidFen
        self.approved = approved
        self.subsidyFen = subsidyFen
        self.reason = reason
        self.monthsSubsidised = monthsSubsidised
    }
}

/// `hpf.subsidy.entrepreneurship-eligible.v1`: §11 start-up support is given by other agencies;
/// we flag who qualifies and on which grounds.
public struct EntrepreneurshipEligible: Codable, Sendable, Equatable {
    public var accountNumber: String
    public var grounds: [EntrepreneurshipGround]
    public var assessedOn: BusinessDate

    public init(accountNumber: String, grounds: [EntrepreneurshipGround], assessedOn: BusinessDate) {
        self.accountNumber = accountNumber
        self.grounds = grounds
        self.assessedOn = assessedOn
    }
}
