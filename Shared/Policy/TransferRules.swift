/// §17 border-region transfers (苏皖鲁豫 cooperation), following the national transfer platform's
/// flow as POLICY.md describes it. Pure functions: the regional-sync service gathers the facts.
public enum TransferRules {
    /// What the sending centre checks before it transfers an account out, in this order.
    public struct TransferOutFacts: Sendable {
        public var exchangeEnabled: Bool
        public var accountFound: Bool
        public var personMatches: Bool
        public var accountStatus: String
        public var unsettledHpfLoan: Bool
        public var pendingWithdrawal: Bool
        public var transferAlreadyOpen: Bool

        public init(
            exchangeEnabled: Bool, accountFound: Bool, personMatches: Bool, accountStatus: String, unsettledHpfLoan: Bool,
            pendingWithdrawal: Bool, transferAlreadyOpen: Bool
        ) {
            self.exchangeEnabled = exchangeEnabled
            self.accountFound = accountFound
            self.personMatches = personMatches
            self.accountStatus = accountStatus
            self.unsettledHpfLoan = unsettledHpfLoan
            self.pendingWithdrawal = pendingWithdrawal
            self.transferAlreadyOpen = transferAlreadyOpen
        }
    }

    /// Why a contact letter is refused (state 13), or nil to accept it: the account exists and
    /// is the person's, no HPF loan is unsettled, no withdrawal is still in flight (the money it
    /// took must not leave twice), and no other transfer of it is open.
    public static func transferOutRefusal(_ f: TransferOutFacts) -> (code: String, detail: String)? {
        if !f.exchangeEnabled { return ("transfer_not_enabled", "transfers with this city are switched off") }
        if !f.accountFound { return ("unknown_account", "no account here matches the letter") }
        if !f.personMatches { return ("person_mismatch", "the account is not this person's") }
        if f.accountStatus != "active" { return ("account_not_active", "the account is \(f.accountStatus)") }
        if f.unsettledHpfLoan { return ("outstanding_hpf_loan", "an HPF loan of this account is not settled") }
        if f.pendingWithdrawal { return ("pending_withdrawal", "a withdrawal of this account is still in progress") }
        if f.transferAlreadyOpen { return ("transfer_in_progress", "another transfer of this account is open") }
        return nil
    }

    /// Why the receiving centre cannot accept transfer-out data (state 06, negotiating), or nil:
    /// the amount must be positive and equal principal + interest, neither part negative.
    public static func transferOutDataProblem(principalFen: Fen, interestFen: Fen, amountFen: Fen) -> (code: String, detail: String)? {
        if principalFen < 0 || interestFen < 0 { return ("negative_amount", "principal and interest cannot be negative") }
        if amountFen <= 0 { return ("non_positive_amount", "the amount must be positive") }
        guard let total = try? Checked.add(principalFen, interestFen) else { return (AmountOverflow.code, "principal plus interest is beyond any amount") }
        if total != amountFen {
            return ("amount_mismatch", "amount \(amountFen) fen is not principal \(principalFen) + interest \(interestFen) fen")
        }
        return nil
    }

    /// Whether every one of the `window` months up to and including `paidUpTo` has a contribution
    /// (近6个月连续缴存).
    public static func continuous(months: Set<YearMonth>, paidUpTo: YearMonth?, window: Int) -> Bool {
        guard let paidUpTo else { return false }
        return (0..<window).allSatisfy { months.contains(paidUpTo.adding(months: -$0)) }
    }
}
