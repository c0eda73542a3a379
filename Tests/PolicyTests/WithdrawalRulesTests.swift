import Policy
import Testing

@Suite("§4, §8, §16 withdrawal rules")
struct WithdrawalRulesTests {
    let p = PolicyParameters.lianyungang2025
    let today = BusinessDate("2026-03-16")!
    let holder = WithdrawerFacts(rural: false, retirementMonth: YearMonth("2058-12")!)

    func code(_ claim: WithdrawalClaim, _ facts: WithdrawerFacts? = nil) -> String? {
        WithdrawalRules.refusal(for: claim, facts: facts ?? holder, today: today, parameters: p)?.code
    }

    @Test("purchase: up to the house price, together with what others took on the same contract")
    func purchase() {
        #expect(code(WithdrawalClaim(reason: .purchase, amountFen: 100_000, ceilingFen: 100_000)) == nil)
        #expect(code(WithdrawalClaim(reason: .purchase, amountFen: 100_001, ceilingFen: 100_000)) == "exceeds_house_price")
        let spouseTook = WithdrawerFacts(rural: false, retirementMonth: YearMonth("2058-12")!, alreadyWithdrawnOnEvidenceFen: 60_000)
        #expect(code(WithdrawalClaim(reason: .purchase, amountFen: 40_000, ceilingFen: 100_000), spouseTook) == nil)
        #expect(code(WithdrawalClaim(reason: .purchase, amountFen: 40_001, ceilingFen: 100_000), spouseTook) == "exceeds_house_price")
    }

    @Test("§16 self-build: rural residents only, up to the building cost")
    func selfBuild() {
        let rural = WithdrawerFacts(rural: true, retirementMonth: YearMonth("2058-12")!)
        #expect(code(WithdrawalClaim(reason: .selfBuild, amountFen: 10, ceilingFen: 100)) == "not_rural_resident")
        #expect(code(WithdrawalClaim(reason: .selfBuild, amountFen: 100, ceilingFen: 100), rural) == nil)
        #expect(code(WithdrawalClaim(reason: .selfBuild, amountFen: 101, ceilingFen: 100), rural) == "exceeds_build_cost")
    }

    @Test("repayment: no more than the loan outstanding")
    func repayment() {
        #expect(code(WithdrawalClaim(reason: .repayment, amountFen: 5_000, ceilingFen: 5_000)) == nil)
        #expect(code(WithdrawalClaim(reason: .repayment, amountFen: 5_001, ceilingFen: 5_000)) == "exceeds_outstanding_loan")
    }

    @Test(
        "§8 rent: the lower of the rent and the monthly cap, times the months",
        arguments: [
            // (monthly rent, months, amount, expected code); cap 1,500 yuan
            (100_000 as Int64, 1, 100_000 as Int64, nil as String?), (100_000, 1, 100_001, "exceeds_rent"),
            (200_000, 2, 300_000, nil), (200_000, 2, 300_001, "exceeds_rent_cap"), (200_000, 0, 1, "rent_months_out_of_range"),
            (200_000, 12, 1_800_000, nil), (200_000, 13, 1, "rent_months_out_of_range"),
        ])
    func rent(_ rent: Int64, _ months: Int, _ amount: Int64, _ expected: String?) {
        #expect(code(WithdrawalClaim(reason: .rent, amountFen: amount, monthlyRentFen: rent, rentMonths: months)) == expected)
    }

    @Test("§8 rent plan: the monthly payment within the cap and the rent")
    func rentPlan() {
        #expect(WithdrawalRules.rentRefusal(monthlyFen: 150_000, monthlyRentFen: 180_000, months: 3, on: BusinessDate("2026-03-16")!, parameters: p) == nil)
        #expect(
            WithdrawalRules.rentRefusal(monthlyFen: 150_001, monthlyRentFen: 180_000, months: 3, on: BusinessDate("2026-03-16")!, parameters: p)?.code
                == "exceeds_rent_cap")
        #expect(
            WithdrawalRules.rentRefusal(monthlyFen: 90_001, monthlyRentFen: 90_000, months: 3, on: BusinessDate("2026-03-16")!, parameters: p)?.code
                == "exceeds_rent")
        #expect(WithdrawalRules.lastDueRentMonth(asOf: BusinessDate("2026-04-01")!, parameters: p) == YearMonth("2026-04")!)
    }

    @Test("closure: transfers go through regional-sync; retirement from the retirement month")
    func closure() {
        #expect(code(WithdrawalClaim(reason: .closure, amountFen: nil, closureReason: .transfer)) == "use_regional_transfer")
        #expect(code(WithdrawalClaim(reason: .closure, amountFen: nil, closureReason: .leavingCity)) == nil)
        #expect(code(WithdrawalClaim(reason: .closure, amountFen: nil, closureReason: .death)) == nil)
        let retiring = { (month: String) in WithdrawerFacts(rural: false, retirementMonth: YearMonth(month)!) }
        #expect(code(WithdrawalClaim(reason: .closure, amountFen: nil, closureReason: .retirement), retiring("2026-04")) == "not_yet_retired")
        #expect(code(WithdrawalClaim(reason: .closure, amountFen: nil, closureReason: .retirement), retiring("2026-03")) == nil)
    }
}

@Suite("§8 rent across requests")
struct RentAcrossRequestsTests {
    let parameters = PolicyParameters.lianyungang2025

    @Test("a multi-month rent withdrawal spreads over consecutive months from the request month, the odd fen first")
    func shares() {
        let shares = WithdrawalRules.rentShares(amountFen: 100_001, months: 3, from: YearMonth(year: 2026, month: 11))
        #expect(shares.map(\.month.description) == ["2026-11", "2026-12", "2027-01"])
        #expect(shares.map(\.fen) == [33_334, 33_334, 33_333] && shares.map(\.fen).reduce(0, +) == 100_001)
        #expect(WithdrawalRules.rentShares(amountFen: 5, months: 0, from: YearMonth(year: 2026, month: 1)).isEmpty)
    }

    @Test("each month holds at most min(rent, cap), whatever earlier requests took; the refusal names the months")
    func monthlyLimit() throws {
        let march = YearMonth(year: 2026, month: 3)
        let shares = WithdrawalRules.rentShares(amountFen: 60_000, months: 2, from: march)
        #expect(WithdrawalRules.rentMonthsRefusal(shares: shares, used: [:], monthlyRentFen: 30_000, parameters: parameters) == nil)
        let refusal = try #require(
            WithdrawalRules.rentMonthsRefusal(
                shares: shares, used: [march.adding(months: 1): 1], monthlyRentFen: 30_000,
                parameters: parameters))
        #expect(refusal.code == "exceeds_monthly_rent_limit" && refusal.detail.contains("2026-04: 1 fen already used") && !refusal.detail.contains("2026-03:"))
        // The cap binds when the rent is higher than it.
        let cap = parameters.rentMonthlyCapFen.value(onFirstDayOf: march)
        #expect(WithdrawalRules.rentMonthsRefusal(shares: [(march, cap + 1)], used: [:], monthlyRentFen: cap * 2, parameters: parameters) != nil)
        #expect(
            WithdrawalRules.rentMonthsRefusal(shares: [(march, 1)], used: [march: .max], monthlyRentFen: cap, parameters: parameters)?.code
                == AmountOverflow.code, "no trap on outside sums")
    }
}
