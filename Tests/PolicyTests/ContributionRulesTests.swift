import Foundation
import Policy
import Testing

@Suite("§2 minimum contributions and contribution months")
struct ContributionRulesTests {
    let p = PolicyParameters.lianyungang2025
    let day = BusinessDate("2026-03-16")!

    @Test("POLICY.md oracle: tier II county at 5 % is 113.00 yuan")
    func tierII() {
        #expect(ContributionRules.monthlyMinimum(county: "320706", on: day, parameters: p) == 11_300)
    }

    @Test("tier III at 5 % is 100.50 yuan; quarterly is three times")
    func tierIIIAndQuarterly() {
        #expect(ContributionRules.monthlyMinimum(county: "320722", on: day, parameters: p) == 10_050)
        #expect(ContributionRules.minimumPerPayment(county: "320722", schedule: .quarterly, on: day, parameters: p) == 30_150)
        #expect(ContributionRules.minimumPerPayment(county: "320706", schedule: .flexible, on: day, parameters: p) == 11_300)
    }

    @Test("a county outside the city has no minimum")
    func outside() {
        #expect(ContributionRules.monthlyMinimum(county: "320300", on: day, parameters: p) == nil)
        #expect(!Eligibility.isCityCounty("320300", on: BusinessDate("2026-03-16")!, parameters: p))
        #expect(Eligibility.isCityCounty("320724", on: BusinessDate("2026-03-16")!, parameters: p))
    }

    @Test("a quarterly payment counts its month and the next two once they have begun")
    func quarterlyMonths() {
        let covered = ContributionRules.coveredMonths(paidOn: BusinessDate("2026-11-20")!, schedule: .quarterly, parameters: p)
        #expect(covered.map(\.description) == ["2026-11", "2026-12", "2027-01"])
        #expect(ContributionRules.contributionMonths(covered: covered, asOf: BusinessDate("2026-11-30")!) == 1)
        #expect(ContributionRules.contributionMonths(covered: covered, asOf: BusinessDate("2027-01-01")!) == 3)
    }

    @Test("distinct months; recognised months add without double counting")
    func distinct() {
        let covered = [YearMonth("2026-01")!, YearMonth("2026-01")!, YearMonth("2026-02")!]
        let recognised = [YearMonth("2025-12")!, YearMonth("2026-02")!]
        #expect(ContributionRules.contributionMonths(covered: covered, recognised: recognised, asOf: BusinessDate("2026-06-01")!) == 3)
    }

    @Test("§9 tax cap = 12 x 12 % x 3 x W, W the average wage that applies to the tax year")
    func taxCap() {
        let w = p.cityAverageMonthlyWageFen.value(on: BusinessDate("2026-01-01")!)
        #expect(ContributionRules.annualTaxCap(year: 2026, parameters: p) == w * 3 * 12 * 12 / 100)
        var changed = p
        changed.cityAverageMonthlyWageFen = p.cityAverageMonthlyWageFen.adding(
            .init(from: BusinessDate("2027-01-01")!, .yuan(8_000), .placeholder, "a hypothetical 2026 average"))
        #expect(ContributionRules.annualTaxCap(year: 2026, parameters: changed) == w * 3 * 12 * 12 / 100)
        #expect(ContributionRules.annualTaxCap(year: 2027, parameters: changed) == 800_000 * 3 * 12 * 12 / 100)
    }
}

@Suite("Dates, validity window and rounding")
struct DateAndRoundingTests {
    let p = PolicyParameters.lianyungang2025

    @Test("the scheme is in force 2025-06-09 to 2027-12-31 inclusive")
    func validity() {
        #expect(!Eligibility.isSchemeInForce(on: BusinessDate("2025-06-08")!, parameters: p))
        #expect(Eligibility.isSchemeInForce(on: BusinessDate("2025-06-09")!, parameters: p))
        #expect(Eligibility.isSchemeInForce(on: BusinessDate("2027-12-31")!, parameters: p))
        #expect(!Eligibility.isSchemeInForce(on: BusinessDate("2028-01-01")!, parameters: p))
    }

    @Test("29 February has its anniversary on 28 February")
    func leapDay() {
        #expect(BusinessDate("2028-02-29")!.adding(years: 1) == BusinessDate("2029-02-28"))
        #expect(BusinessDate("2028-02-29")!.adding(years: 4) == BusinessDate("2032-02-29"))
        #expect(BusinessDate("2026-02-29") == nil)
    }

    @Test("graduate within 2 years of the relevant date")
    func graduate() {
        let day = BusinessDate("2026-06-30")!
        #expect(Eligibility.isRecentGraduate(graduationDate: BusinessDate("2024-06-30"), on: day, parameters: p))
        #expect(!Eligibility.isRecentGraduate(graduationDate: BusinessDate("2024-06-29"), on: day, parameters: p))
        #expect(!Eligibility.isRecentGraduate(graduationDate: BusinessDate("2026-07-01"), on: day, parameters: p))
        #expect(!Eligibility.isRecentGraduate(graduationDate: nil, on: day, parameters: p))
    }

    @Test("half-up rounding to the fen", arguments: [(1_200_00, 100, 1_200), (150, 100, 2), (149, 100, 1), (50, 100, 1), (49, 100, 0)])
    func halfUp(_ amount: Int64, _ bp: Int64, _ expected: Int64) {
        #expect(Rounding.applyBasisPoints(amount, bp) == expected)
    }

    @Test("POLICY.md oracle: 1,200.00 at 1.0 % is 12.00")
    func annualOracle() {
        #expect(SubsidyRules.annualGrant(remaining: 120_000, anniversary: BusinessDate("2026-07-01")!, parameters: p) == 1_200)
    }

    @Test("Asia/Shanghai business date of an instant")
    func shanghai() {
        let instant = Instant.parseForTest("2026-11-26T17:41:00Z")
        #expect(BusinessDate.of(instant) == BusinessDate("2026-11-27"))
    }
}

enum Instant {
    static func parseForTest(_ text: String) -> Date { try! Date.ISO8601FormatStyle().parse(text) }
}
