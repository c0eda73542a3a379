import Policy

/// `hpf.loan.loan-application-decided.v1`: the one decision of the "loan one-thing" (§6), with
/// every reason and the quota's factors, for analytics and the data fed back centrally.
public struct LoanApplicationDecided: Codable, Sendable, Equatable {
    public enum Decision: String, Codable, Sendable { case approved, rejected, awaitingLiquidity = "awaiting_liquidity" }
    public var applicationId: String
    public var accountNumber: String
    public var spouseAccountNumber: String?
    public var decision: Decision
    public var reasons: [String]
    public var requestedFen: Fen
    public var approvedFen: Fen
    public var termMonths: Int
    public var repaymentMethod: RepaymentMethod
    public var annualRateMilliPercent: Int64
    public var quota: LoanQuota
    public var decidedOn: BusinessDate

    public init(applicationId: String, accountNumber: String, spouseAccountNumber: String?, decision: Decision, reasons: [String],
                requestedFen: Fen, approvedFen: Fen, termMonths: Int, repaymentMethod: RepaymentMethod, annualRateMilliPercent: Int64,
                quota: LoanQuota, decidedOn: BusinessDate) {
        self.applicationId = applicationId
        self.accountNumber = accountNumber
        self.spouseAccountNumber = spouseAccountNumber
        self.decision = decision
        self.reasons = reasons
        self.requestedFen = requestedFen
        self.approvedFen = approvedFen
        self.termMonths = termMonths
        self.repaymentMethod = repaymentMethod
        self.annualRateMilliPercent = annualRateMilliPercent
        self.quota = quota
        self.decidedOn = decidedOn
    }
}

/// `hpf.loan.loan-disbursed.v1`: the loan was paid out (at once on approval, or when liquidity
/// returned, §19).
public struct LoanDisbursed: Codable, Sendable, Equatable {
    public var loanId: String
    public var applicationId: String
    public var accountNumber: String
    public var principalFen: Fen
    public var annualRateMilliPercent: Int64
    public var termMonths: Int
    public var repaymentMethod: RepaymentMethod
    public var firstPaymentFen: Fen
    public var disbursedOn: BusinessDate

    public init(loanId: String, applicationId: String, accountNumber: String, principalFen: Fen, annualRateMilliPercent: Int64,
                termMonths: Int, repaymentMethod: RepaymentMethod, firstPaymentFen: Fen, disbursedOn: BusinessDate) {
        self.loanId = loanId
        self.applicationId = applicationId
        self.accountNumber = accountNumber
        self.principalFen = principalFen
        self.annualRateMilliPercent = annualRateMilliPercent
        self.termMonths = termMonths
        self.repaymentMethod = repaymentMethod
        self.firstPaymentFen = firstPaymentFen
        self.disbursedOn = disbursedOn
    }
}
