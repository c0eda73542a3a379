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

    public init(
        applicationId: String, accountNumber: String, spouseAccountNumber: String?, decision: Decision, reasons: [String],
        requestedFen: Fen, approvedFen: Fen, termMonths: Int, repaymentMethod: RepaymentMethod, annualRateMilliPercent: Int64,
        quota: LoanQuota, decidedOn: BusinessDate
    ) {
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

    public init(
        loanId: String, applicationId: String, accountNumber: String, principalFen: Fen, annualRateMilliPercent: Int64,
        termMonths: Int, repaymentMethod: RepaymentMethod, firstPaymentFen: Fen, disbursedOn: BusinessDate
    ) {
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

/// `hpf.loan.loan-repaid.v1`: a repayment was applied (instalments due first, the rest repays
/// principal early).
public struct LoanRepaid: Codable, Sendable, Equatable {
    public var loanId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var source: String
    public var reference: String
    public var outstandingFen: Fen
    public var arrearsFen: Fen
    public var receivedOn: BusinessDate

    public init(
        loanId: String, accountNumber: String, amountFen: Fen, source: String, reference: String, outstandingFen: Fen,
        arrearsFen: Fen, receivedOn: BusinessDate
    ) {
        self.loanId = loanId
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.source = source
        self.reference = reference
        self.outstandingFen = outstandingFen
        self.arrearsFen = arrearsFen
        self.receivedOn = receivedOn
    }
}

/// `hpf.loan.loan-settled.v1`: nothing is owed any more.
public struct LoanSettled: Codable, Sendable, Equatable {
    public var loanId: String
    public var accountNumber: String
    public var settledOn: BusinessDate
    public init(loanId: String, accountNumber: String, settledOn: BusinessDate) {
        self.loanId = loanId
        self.accountNumber = accountNumber
        self.settledOn = settledOn
    }
}

/// `hpf.loan.instalment-overdue.v1`: an instalment is still unpaid after the grace days (§13, §18).
public struct InstalmentOverdue: Codable, Sendable, Equatable {
    public var loanId: String
    public var accountNumber: String
    public var number: Int
    public var dueOn: BusinessDate
    public var arrearsFen: Fen
    /// The longest run of consecutive overdue instalments, and how many were ever overdue.
    public var consecutive: Int
    public var cumulative: Int

    public init(loanId: String, accountNumber: String, number: Int, dueOn: BusinessDate, arrearsFen: Fen, consecutive: Int, cumulative: Int) {
        self.loanId = loanId
        self.accountNumber = accountNumber
        self.number = number
        self.dueOn = dueOn
        self.arrearsFen = arrearsFen
        self.consecutive = consecutive
        self.cumulative = cumulative
    }
}

/// `hpf.loan.bad-credit-cleared.v1`: the overdue arrears behind a bad-credit record were
/// cleared; the record blocks until `activeUntil` (5 years on, POLICY.md decisions) and then
/// stops. New overdue arrears on the loan record it again (`bad-credit-recorded`).
public struct BadCreditCleared: Codable, Sendable, Equatable {
    public var personRef: String
    public var accountNumber: String
    public var loanId: String
    public var arrearsClearedOn: BusinessDate
    public var activeUntil: BusinessDate

    public init(personRef: String, accountNumber: String, loanId: String, arrearsClearedOn: BusinessDate, activeUntil: BusinessDate) {
        self.personRef = personRef
        self.accountNumber = accountNumber
        self.loanId = loanId
        self.arrearsClearedOn = arrearsClearedOn
        self.activeUntil = activeUntil
    }
}

/// `hpf.loan.bad-credit-recorded.v1`: the overdue thresholds were crossed (§13). The enrolment
/// service's credit registry records it; while active it blocks enrolment and loans. Names the
/// person by `personRef` only.
public struct BadCreditRecorded: Codable, Sendable, Equatable {
    public var personRef: String
    public var accountNumber: String
    public var loanId: String
    public var reason: String
    public var recordedOn: BusinessDate

    public init(personRef: String, accountNumber: String, loanId: String, reason: String, recordedOn: BusinessDate) {
        self.personRef = personRef
        self.accountNumber = accountNumber
        self.loanId = loanId
        self.reason = reason
        self.recordedOn = recordedOn
    }
}

/// `hpf.loan.repayment-debit-requested.v1`: repay from the HPF balance (公积金账户余额还贷): the
/// ledger debits the account (`debit-posted`, kind `loan_repayment`) or refuses (`debit-refused`);
/// `repaymentId` is the debit's id.
public struct RepaymentDebitRequested: Codable, Sendable, Equatable {
    public var repaymentId: String
    public var loanId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var requestedOn: BusinessDate

    public init(repaymentId: String, loanId: String, accountNumber: String, amountFen: Fen, requestedOn: BusinessDate) {
        self.repaymentId = repaymentId
        self.loanId = loanId
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.requestedOn = requestedOn
    }
}
