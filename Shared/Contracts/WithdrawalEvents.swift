import Policy

/// Who receives a payout (收款人): the account holder, a seller, builder, lender, landlord,
/// rental agency (§8 direct payment) or an heir.
public struct Payee: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case holder, seller, builder, lender, landlord, agency, heir }
    public var kind: Kind
    public var name: String
    public var bankAccount: String
    public var bankName: String?

    public init(kind: Kind, name: String, bankAccount: String, bankName: String? = nil) {
        self.kind = kind
        self.name = name
        self.bankAccount = bankAccount
        self.bankName = bankName
    }

    /// The bank account as responses and logs show it: the last four digits only.
    public var maskedBankAccount: String { String(repeating: "*", count: max(0, bankAccount.count - 4)) + bankAccount.suffix(4) }

    /// The payee as the analytics topic shows it: the kind and bank in clear, the name's first
    /// character and the account's last four digits only.
    public var masked: Payee {
        Payee(
            kind: kind, name: String(name.prefix(1)) + String(repeating: "*", count: max(0, name.count - 1)),
            bankAccount: maskedBankAccount, bankName: bankName)
    }
}

/// `hpf.withdrawal.withdrawal-requested.v1`: asks the ledger to debit the account (the first
/// step of the withdrawal saga). `amountFen` is absent for a closure: the whole balance.
public struct WithdrawalRequested: Codable, Sendable, Equatable {
    public var withdrawalId: String
    public var accountNumber: String
    public var reason: WithdrawalReason
    public var amountFen: Fen?
    public var closureReason: ClosureReason?
    public var requestedOn: BusinessDate
    /// The rent plan (§8) this month's payment belongs to.
    public var rentPlanId: String?

    public init(
        withdrawalId: String, accountNumber: String, reason: WithdrawalReason, amountFen: Fen?, closureReason: ClosureReason?,
        requestedOn: BusinessDate, rentPlanId: String? = nil
    ) {
        self.withdrawalId = withdrawalId
        self.accountNumber = accountNumber
        self.reason = reason
        self.amountFen = amountFen
        self.closureReason = closureReason
        self.requestedOn = requestedOn
        self.rentPlanId = rentPlanId
    }
}

/// `hpf.withdrawal.payout-requested.v1` (on `hpf.withdrawal.events.v1`, payee masked) and
/// `hpf.withdrawal.payout-instruction.v1` (on the channel-only `hpf.withdrawal.payout-instructions.v1`,
/// payee in full): the payment-channel adapter's instruction to pay the payee. The channel
/// answers asynchronously on `POST /v1/payouts/{payoutId}/confirmation`.
public struct PayoutRequested: Codable, Sendable, Equatable {
    public var payoutId: String
    public var withdrawalId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var payee: Payee

    public init(payoutId: String, withdrawalId: String, accountNumber: String, amountFen: Fen, payee: Payee) {
        self.payoutId = payoutId
        self.withdrawalId = withdrawalId
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.payee = payee
    }
}

/// `hpf.withdrawal.withdrawal-paid.v1`: the saga completed; the money reached the payee.
public struct WithdrawalPaid: Codable, Sendable, Equatable {
    public var withdrawalId: String
    public var accountNumber: String
    public var reason: WithdrawalReason
    public var amountFen: Fen
    public var closureReason: ClosureReason?
    public var paidOn: BusinessDate
    public var channelRef: String

    public init(
        withdrawalId: String, accountNumber: String, reason: WithdrawalReason, amountFen: Fen, closureReason: ClosureReason?,
        paidOn: BusinessDate, channelRef: String
    ) {
        self.withdrawalId = withdrawalId
        self.accountNumber = accountNumber
        self.reason = reason
        self.amountFen = amountFen
        self.closureReason = closureReason
        self.paidOn = paidOn
        self.channelRef = channelRef
    }
}

/// `hpf.withdrawal.payout-failed.v1`: the channel could not pay; the ledger reverses the debit
/// (the saga's compensation).
public struct PayoutFailed: Codable, Sendable, Equatable {
    public var withdrawalId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var code: String

    public init(withdrawalId: String, accountNumber: String, amountFen: Fen, code: String) {
        self.withdrawalId = withdrawalId
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.code = code
    }
}

/// `hpf.withdrawal.withdrawal-rejected.v1`: the saga ended without paying (refused by the
/// ledger, or compensated after a failed payout); nothing left the account.
public struct WithdrawalRejected: Codable, Sendable, Equatable {
    public var withdrawalId: String
    public var accountNumber: String
    public var reason: WithdrawalReason
    public var code: String
    public var detail: String

    public init(withdrawalId: String, accountNumber: String, reason: WithdrawalReason, code: String, detail: String) {
        self.withdrawalId = withdrawalId
        self.accountNumber = accountNumber
        self.reason = reason
        self.code = code
        self.detail = detail
    }
}
