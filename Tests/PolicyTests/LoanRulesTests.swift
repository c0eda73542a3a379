import Policy
import Testing

@Suite("§4-§7, §10 loan rules")
struct LoanRulesTests {
    let p = PolicyParameters.lianyungang2025
    let today = BusinessDate("2026-03-16")!

    @Test("POLICY.md oracle: 1,000,000 yuan over 360 months at 2.60 % is 4,003.4x a month (4,135.57 at 2.85 %)")
    func levelPaymentOracle() {
        let payment = LoanRules.levelPayment(principal: 100_000_000, annualRateMilliPercent: 2_600, months: 360)
        #expect(payment / 10 == 40_034, "4,003.4x yuan: \(payment) fen")
        #expect(LoanRules.levelPayment(principal: 100_000_000, annualRateMilliPercent: 2_850, months: 360) == 413_557)
    }

    @Test("schedules repay the principal to the fen; the last instalment absorbs the rounding", arguments: RepaymentMethod.allCases)
    func schedules(_ method: RepaymentMethod) {
        let rows = LoanRules.schedule(principal: 30_000_001, annualRateMilliPercent: 2_600, months: 240, method: method)
        #expect(rows.count == 240)
        #expect(rows.reduce(0) { $0 + $1.principalFen } == 30_000_001)
        #expect(rows.last?.remainingFen == 0)
        #expect(rows.allSatisfy { $0.paymentFen == $0.principalFen + $0.interestFen })
        // First month's interest: 300,000.01 yuan x 2.6 % / 12 = 650.00 yuan, half-up.
        #expect(rows[0].interestFen == 65_000)
        if method == .equalInstallment {
            let level = LoanRules.levelPayment(principal: 30_000_001, annualRateMilliPercent: 2_600, months: 240)
            #expect(rows.dropLast().allSatisfy { $0.paymentFen == level })
            // Rounding each payment and each month's interest leaves at most a fen a month for the last one.
            #expect(abs(rows.last!.paymentFen - level) <= Int64(rows.count))
        } else {
            #expect(rows.dropLast().allSatisfy { $0.principalFen == 30_000_001 / 240 })
            #expect(rows[0].paymentFen > rows[239].paymentFen)
        }
    }

    @Test("the rate table is date-effective: first or second home, up to or over 5 years")
    func rates() {
        #expect(LoanRules.annualRate(on: today, firstHome: true, termMonths: 60, parameters: p) == 2_100)
        #expect(LoanRules.annualRate(on: today, firstHome: true, termMonths: 61, parameters: p) == 2_600)
        #expect(LoanRules.annualRate(on: today, firstHome: false, termMonths: 360, parameters: p) == 3_075)
        #expect(LoanRules.annualRate(on: BusinessDate("2025-05-07")!, firstHome: true, termMonths: 360, parameters: p) == 2_850)
    }

    func facts(
        balance: Fen = 5_000_000, average: Fen = 200_000, months: Int = 24, last12: Int = 12, couple: Bool = false,
        graduate: Bool = false
    ) -> LoanFacts {
        LoanFacts(
            balanceFen: balance, averageMonthlyFen: average, contributionMonths: months, monthsPaidOfLast12: last12, couple: couple,
            recentGraduate: graduate, retirementMonth: YearMonth("2058-12")!)
    }

    func request(
        price: Fen = 200_000_000, firstHome: Bool = true, better: Bool = false, requested: Fen = 100_000_000, term: Int = 360,
        income: Fen = 5_000_000, debt: Fen = 0, county: String = "320706"
    ) -> LoanRequest {
        LoanRequest(
            county: county, priceFen: price, firstHome: firstHome, betterHousing: better, requestedFen: requested, termMonths: term,
            method: .equalInstallment, monthlyIncomeFen: income, monthlyDebtFen: debt)
    }

    @Test("§5 linkage: (balance x 15 + average x term x 1.5) / 2 x duration x frequency")
    func linkage() throws {
        // (50,000 x 15 + 2,000 x 360 x 1.5) / 2 = 915,000 yuan; 24 months -> 1.0; 12 of 12 -> 1.0.
        let q = try LoanRules.quota(facts: facts(), request: request(), on: today, parameters: p)
        #expect(q.linkageFen == 91_500_000)
        let sparse = try LoanRules.quota(facts: facts(months: 12, last12: 7), request: request(), on: today, parameters: p)
        #expect(sparse.durationFactorBasisPoints == 9_000 && sparse.frequencyFactorBasisPoints == 9_000)
        #expect(sparse.linkageFen == 91_500_000 * 9 / 10 * 9 / 10)
    }

    @Test(
        "each cap binds in turn",
        arguments: [
            // (balance, price, requested, income, expected binding)
            (100_000 as Int64, 200_000_000 as Int64, 100_000_000 as Int64, 5_000_000 as Int64, "linkage"),
            (5_000_000, 200_000_000, 100_000_000, 5_000_000, "city_ceiling"),
            (5_000_000, 40_000_000, 100_000_000, 5_000_000, "loan_to_value"),
            (5_000_000, 200_000_000, 100_000_000, 300_000, "repayment_capacity"),
            (5_000_000, 200_000_000, 10_000_000, 5_000_000, "requested"),
        ])
    func binding(_ balance: Fen, _ price: Fen, _ requested: Fen, _ income: Fen, _ expected: String) throws {
        let q = try LoanRules.quota(
            facts: facts(balance: balance, average: balance == 100_000 ? 10_000 : 200_000),
            request: request(price: price, requested: requested, income: income), on: today, parameters: p)
        #expect(q.bindingFactor == expected)
        #expect(q.quotaFen % 100_000 == 0, "rounded down to 1,000 yuan")
    }

    @Test("uplifts stack: +20 % better housing and +50 % talent raise the linkage quota and the ceiling")
    func uplifts() throws {
        let plain = try LoanRules.quota(facts: facts(), request: request(), on: today, parameters: p)
        let both = try LoanRules.quota(facts: facts(graduate: true), request: request(better: true), on: today, parameters: p)
        #expect(both.upliftBasisPoints == 7_000)
        #expect(both.linkageWithUpliftFen == plain.linkageFen * 17 / 10)
        #expect(both.cityCeilingFen == 50_000_000 * 17 / 10)
        let couple = try LoanRules.quota(facts: facts(couple: true), request: request(), on: today, parameters: p)
        #expect(couple.cityCeilingFen == 80_000_000)
    }

    @Test("§4 refusals: fewer than 6 months, a house outside the city, a term past retirement + 5 years")
    func refusals() {
        #expect(LoanRules.refusals(facts: facts(months: 5), request: request(), on: today, parameters: p) == ["contribution_months_below_6"])
        #expect(LoanRules.refusals(facts: facts(months: 6), request: request(), on: today, parameters: p).isEmpty)
        #expect(LoanRules.refusals(facts: facts(), request: request(county: "320506"), on: today, parameters: p) == ["house_outside_city"])
        let late = LoanFacts(
            balanceFen: 0, averageMonthlyFen: 0, contributionMonths: 24, monthsPaidOfLast12: 12, couple: false,
            recentGraduate: false, retirementMonth: YearMonth("2040-03")!)
        #expect(LoanRules.maximumTerm(retirementMonth: YearMonth("2040-03")!, on: today, parameters: p) == 228)
        #expect(LoanRules.refusals(facts: late, request: request(term: 229), on: today, parameters: p) == ["term_beyond_limit"])
    }

    @Test("repayment capacity: the largest principal whose payment fits, for both methods", arguments: RepaymentMethod.allCases)
    func capacity(_ method: RepaymentMethod) throws {
        let principal = try LoanRules.maximumPrincipal(monthlyPayment: 400_340, annualRateMilliPercent: 2_600, months: 360, method: method)
        let first = LoanRules.schedule(principal: principal, annualRateMilliPercent: 2_600, months: 360, method: method)[0]
        #expect(first.paymentFen <= 400_341)
        #expect(principal > 0)
    }
}
