import Policy
import Testing

@Suite("§17 transfers: the sending centre's checks, the data check, continuity")
struct TransferRulesTests {
    let clean = TransferRules.TransferOutFacts(
        exchangeEnabled: true, accountFound: true, personMatches: true, accountStatus: "active",
        unsettledHpfLoan: false, pendingWithdrawal: false, transferAlreadyOpen: false)

    @Test("a clean letter is accepted; each failing check refuses it with its code, the first in order winning")
    func refusals() {
        #expect(TransferRules.transferOutRefusal(clean) == nil)
        var f = clean
        f.pendingWithdrawal = true
        #expect(TransferRules.transferOutRefusal(f)?.code == "pending_withdrawal")
        f.unsettledHpfLoan = true
        #expect(TransferRules.transferOutRefusal(f)?.code == "outstanding_hpf_loan", "an unsettled loan is reported before the withdrawal")
        f.accountStatus = "closing"
        #expect(TransferRules.transferOutRefusal(f)?.code == "account_not_active")
        f.personMatches = false
        #expect(TransferRules.transferOutRefusal(f)?.code == "person_mismatch")
        f.accountFound = false
        #expect(TransferRules.transferOutRefusal(f)?.code == "unknown_account")
        f.exchangeEnabled = false
        #expect(TransferRules.transferOutRefusal(f)?.code == "transfer_not_enabled")
        var open = clean
        open.transferAlreadyOpen = true
        #expect(TransferRules.transferOutRefusal(open)?.code == "transfer_in_progress")
    }

    @Test("transfer-out data: the amount is principal + interest, to the fen")
    func amounts() {
        #expect(TransferRules.transferOutDataProblem(principalFen: 3_600_000, interestFen: 27_135, amountFen: 3_627_135) == nil)
        #expect(TransferRules.transferOutDataProblem(principalFen: 3_600_000, interestFen: 27_135, amountFen: 3_627_134)?.code == "amount_mismatch")
        #expect(TransferRules.transferOutDataProblem(principalFen: 0, interestFen: 0, amountFen: 0)?.code == "non_positive_amount")
        #expect(TransferRules.transferOutDataProblem(principalFen: -1, interestFen: 2, amountFen: 1)?.code == "negative_amount")
    }

    @Test("the last six months are continuous only without a gap up to the paid-up month")
    func continuity() {
        let june = YearMonth(year: 2025, month: 6)
        let six = Set((0..<6).map { june.adding(months: -$0) })
        #expect(TransferRules.continuous(months: six, paidUpTo: june, window: 6))
        #expect(!TransferRules.continuous(months: six.subtracting([YearMonth(year: 2025, month: 3)]), paidUpTo: june, window: 6))
        #expect(TransferRules.continuous(months: six.union([YearMonth(year: 2024, month: 1)]), paidUpTo: june, window: 6), "older gaps do not matter")
        #expect(!TransferRules.continuous(months: [], paidUpTo: nil, window: 6))
        // Across a year end.
        let february = YearMonth(year: 2026, month: 2)
        #expect(TransferRules.continuous(months: Set((0..<6).map { february.adding(months: -$0) }), paidUpTo: february, window: 6))
    }
}
