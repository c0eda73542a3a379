import Policy
import Testing

/// Policy numbers that change on dates (the deposit rate, the committee's annual subsidy rate,
/// the loan rates) are dated schedules, and every chosen value lies inside the range the scheme
/// seeds for it.
@Suite("Dated parameter schedules and their seeded ranges")
struct ParameterScheduleTests {
    let p = PolicyParameters.lianyungang2025

    @Test("every annual subsidy rate of the schedule lies inside §3's 1 %-1.5 %")
    func subsidyRatesInRange() {
        #expect(!p.annualSubsidyRates.value.isEmpty)
        for entry in p.annualSubsidyRates.value {
            #expect(p.annualSubsidyRateRange.value.contains(entry.thousandthsOfAPercent), "\(entry.effectiveFrom): \(entry.thousandthsOfAPercent)")
        }
    }

    @Test("the social-insurance share lies inside §12's 1/2-2/3")
    func socialInsuranceShareInRange() {
        let share = p.socialInsuranceShare.value, range = p.socialInsuranceShareRange.value
        // a/b >= c/d  <=>  a·d >= c·b (positive denominators)
        #expect(share.numerator * range.lowest.denominator >= range.lowest.numerator * share.denominator)
        #expect(share.numerator * range.highest.denominator <= range.highest.numerator * share.denominator)
    }

    @Test("deposit and loan rates are positive, and each schedule's dates are distinct")
    func schedulesWellFormed() {
        for schedule in [p.depositInterestRates.value, p.annualSubsidyRates.value] {
            #expect(schedule.allSatisfy { $0.thousandthsOfAPercent > 0 })
            #expect(Set(schedule.map(\.effectiveFrom)).count == schedule.count)
        }
        #expect(p.loanRates.value.allSatisfy { [$0.firstHomeUpTo5Years, $0.firstHomeOver5Years, $0.secondHomeUpTo5Years, $0.secondHomeOver5Years].allSatisfy { $0 > 0 } })
        #expect(Set(p.loanRates.value.map(\.effectiveFrom)).count == p.loanRates.value.count)
    }

    @Test("a grant uses the rate in force on its anniversary, not today's")
    func subsidyRateOnTheAnniversary() {
        var changed = p
        changed.annualSubsidyRates = .init(p.annualSubsidyRates.value + [DatedRate(effectiveFrom: BusinessDate("2027-01-01")!, thousandthsOfAPercent: 1_500)],
                                           .placeholder, "a hypothetical committee decision: 1.5 % from 2027")
        // 1,200.00 at 1.0 % = 12.00 on a 2026 anniversary; at 1.5 % = 18.00 on a 2027 one.
        #expect(SubsidyRules.annualGrant(remaining: 120_000, anniversary: BusinessDate("2026-12-31")!, parameters: changed) == 1_200)
        #expect(SubsidyRules.annualGrant(remaining: 120_000, anniversary: BusinessDate("2027-01-01")!, parameters: changed) == 1_800)
        #expect(changed.annualSubsidyRates.value.rate(on: BusinessDate("2020-01-01")!) == 1_000, "before the schedule: its first rate")
    }
}
