import Policy
import Testing

@Suite("§3 subsidies, §11 and §12")
struct SubsidyRulesTests {
    let p = PolicyParameters.lianyungang2025
    let firstDeposit = BusinessDate("2026-03-16")!

    @Test(
        "opening subsidy: the highest applicable tier",
        arguments: [
            (0, true, "2025-06-30", 40_000 as Int64), (2, true, "2025-06-30", 40_000), (2, false, nil, 30_000), (3, true, "2023-06-30", 30_000),
            (0, false, "2025-06-30", 20_000), (1, true, "2024-03-16", 40_000), (1, true, "2024-03-15", 20_000),
        ] as [(Int, Bool, String?, Int64)])
    func opening(_ children: Int, _ bachelor: Bool, _ graduated: String?, _ expected: Int64) {
        let grant = SubsidyRules.openingSubsidy(
            childrenCount: children, bachelorOrAbove: bachelor,
            graduationDate: graduated.flatMap(BusinessDate.init), firstDepositOn: firstDeposit, parameters: p)
        #expect(grant.amount == expected)
    }

    @Test("POLICY.md oracle: 1,200.00 untouched for a year at 1.0 % earns 12.00")
    func annualOracle() {
        let anniversary = BusinessDate("2026-07-01")!
        #expect(SubsidyRules.annualGrant(remaining: 120_000, anniversary: anniversary, parameters: p) == 1_200)
        #expect(SubsidyRules.annualGrant(remaining: 150, anniversary: anniversary, parameters: p) == 2)  // 1.50 fen rounds half-up
    }

    @Test("POLICY.md oracle: a person already granted 9,990.00 receives at most 10.00 more")
    func cap() {
        #expect(SubsidyRules.clipToCap(40_000, alreadyGranted: 999_000, on: BusinessDate("2026-03-16")!, parameters: p) == 1_000)
        #expect(SubsidyRules.clipToCap(500, alreadyGranted: 999_000, on: BusinessDate("2026-03-16")!, parameters: p) == 500)
        #expect(SubsidyRules.clipToCap(500, alreadyGranted: 1_000_000, on: BusinessDate("2026-03-16")!, parameters: p) == 0)
    }

    @Test("a 29 February lot has its anniversaries on 28 February")
    func leapLot() {
        let (due, next) = SubsidyRules.anniversaries(
            startedOn: BusinessDate("2024-02-29")!, from: BusinessDate("2025-02-28")!,
            asOf: BusinessDate("2026-07-01")!)
        #expect(due.map(\.description) == ["2025-02-28", "2026-02-28"])
        #expect(next == BusinessDate("2027-02-28"))
        #expect(!SubsidyRules.earnsAnnualSubsidy(anniversary: due[0], parameters: p))  // before 2025-06-09
        #expect(SubsidyRules.earnsAnnualSubsidy(anniversary: due[1], parameters: p))
    }

    @Test("only anniversaries from the lot's next one up to asOf are due")
    func dueWindow() {
        let (due, next) = SubsidyRules.anniversaries(
            startedOn: BusinessDate("2025-07-01")!, from: BusinessDate("2026-07-01")!,
            asOf: BusinessDate("2026-06-30")!)
        #expect(due.isEmpty && next == BusinessDate("2026-07-01"))
        #expect(!SubsidyRules.earnsAnnualSubsidy(anniversary: BusinessDate("2028-07-01")!, parameters: p))
    }

    @Test("§12: half of what was paid, for recent graduates who were unemployed, at most 24 months")
    func socialInsurance() {
        let month = YearMonth("2026-03")!
        let left = BusinessDate("2025-07-01")!
        let approved = SubsidyRules.socialInsurance(
            paid: 100_001, month: month, leftSchoolOn: left, unemployedBefore: true,
            monthsAlreadySubsidised: 0, parameters: p)
        #expect(approved.approved && approved.subsidy == 50_001 && approved.reason == "approved")
        #expect(
            SubsidyRules.socialInsurance(
                paid: 100_000, month: month, leftSchoolOn: left, unemployedBefore: false,
                monthsAlreadySubsidised: 0, parameters: p
            ).reason == "not_unemployed_before_flexible_work")
        #expect(
            SubsidyRules.socialInsurance(
                paid: 100_000, month: month, leftSchoolOn: BusinessDate("2023-06-30")!, unemployedBefore: true,
                monthsAlreadySubsidised: 0, parameters: p
            ).reason == "not_within_2_years_of_leaving_school")
        #expect(
            SubsidyRules.socialInsurance(
                paid: 100_000, month: month, leftSchoolOn: left, unemployedBefore: true,
                monthsAlreadySubsidised: 24, parameters: p
            ).reason == "subsidy_period_exhausted")
    }

    @Test("§11 grounds")
    func entrepreneurship() {
        let on = BusinessDate("2026-03-16")!
        #expect(
            SubsidyRules.entrepreneurshipGrounds(
                veteran: true, bachelorOrAbove: false, graduationDate: nil, rural: true,
                individualBusiness: true, on: on, parameters: p) == [.veteran, .ruralIndividualBusiness])
        #expect(
            SubsidyRules.entrepreneurshipGrounds(
                veteran: false, bachelorOrAbove: true, graduationDate: BusinessDate("2025-06-30"),
                rural: false, individualBusiness: true, on: on, parameters: p) == [.recentGraduate])
        #expect(
            SubsidyRules.entrepreneurshipGrounds(
                veteran: false, bachelorOrAbove: false, graduationDate: nil, rural: false,
                individualBusiness: true, on: on, parameters: p
            ).isEmpty)
    }
}
