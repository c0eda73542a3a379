import Policy
import Testing

/// Rules combine several outside values; what overflows is a refusal, never a trap.
@Suite("Checked arithmetic in the rules")
struct CheckedArithmeticTests {
    let p = PolicyParameters.lianyungang2025
    let today = BusinessDate("2026-03-16")!

    @Test("add, subtract, multiply and basis points report overflow and otherwise compute exactly")
    func operations() throws {
        #expect(try Checked.add(2, 3) == 5)
        #expect(try Checked.subtract(2, 3) == -1)
        #expect(try Checked.multiply(-4, 3) == -12)
        #expect(try Checked.basisPoints(10_001, 5_000) == 5_001)  // 5,000.5 rounds half-up
        #expect(throws: AmountOverflow.self) { try Checked.add(.max, 1) }
        #expect(throws: AmountOverflow.self) { try Checked.subtract(.min, 1) }
        #expect(throws: AmountOverflow.self) { try Checked.multiply(.max / 2, 3) }
        #expect(throws: AmountOverflow.self) { try Checked.basisPoints(.max / 100, 10_000) }
    }

    @Test(
        "a loan plan whose figures overflow is refused by the quota, at every extreme of every figure",
        arguments: [
            (Int64.max, Int64.max, 1_000_000_000_000, 360), (1_000, 1_000, Int64.max, 360), (Int64.max / 2, 1_000, 1_000, Int.max / 1_000_000),
        ] as [(Int64, Int64, Int64, Int)])
    func quota(price: Int64, income: Int64, average: Int64, term: Int) {
        let facts = LoanFacts(
            balanceFen: average, averageMonthlyFen: average, contributionMonths: 24, monthsPaidOfLast12: 12, couple: false,
            recentGraduate: false, retirementMonth: YearMonth(year: 2060, month: 1))
        let request = LoanRequest(
            county: "320706", priceFen: price, firstHome: true, betterHousing: false, requestedFen: price, termMonths: term,
            method: .equalInstallment, monthlyIncomeFen: income, monthlyDebtFen: 0)
        #expect(throws: AmountOverflow.self) { try LoanRules.quota(facts: facts, request: request, on: today, parameters: p) }
    }

    @Test("a purchase withdrawal of Int64.max on a contract already used is refused as amount_out_of_range")
    func purchase() {
        let claim = WithdrawalClaim(reason: .purchase, amountFen: .max, ceilingFen: 100_000_000)
        let facts = WithdrawerFacts(rural: false, retirementMonth: YearMonth(year: 2060, month: 1), alreadyWithdrawnOnEvidenceFen: 1)
        #expect(WithdrawalRules.refusal(for: claim, facts: facts, today: today, parameters: p)?.code == AmountOverflow.code)
    }

    @Test("transfer-out data whose principal and interest overflow is refused")
    func transferOut() {
        #expect(TransferRules.transferOutDataProblem(principalFen: .max, interestFen: 1, amountFen: 1)?.code == AmountOverflow.code)
    }
}
