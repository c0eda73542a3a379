import Policy
import Testing

/// Policy numbers that change on dates (the deposit rate, the committee's annual subsidy rate,
/// the loan rates, the minimum wage, the city's average wage) are dated schedules, each entry
/// with its own status and source; every chosen value lies inside the range the scheme seeds
/// for it, and a rule uses the value in force on the day its clause names.
@Suite("Dated parameter schedules and their seeded ranges")
struct ParameterScheduleTests {
    let p = PolicyParameters.lianyungang2025

    @Test("every annual subsidy rate of the schedule lies inside §3's 1 %-1.5 %")
    func subsidyRatesInRange() {
        for entry in p.annualSubsidyRates.entries {
            #expect(p.annualSubsidyRateRange.value.contains(entry.value), "\(entry.effectiveFrom): \(entry.value)")
        }
    }

    @Test("the social-insurance share lies inside §12's 1/2-2/3")
    func socialInsuranceShareInRange() {
        let share = p.socialInsuranceShare.value, range = p.socialInsuranceShareRange.value
        // a/b >= c/d  <=>  a·d >= c·b (positive denominators)
        #expect(share.numerator * range.lowest.denominator >= range.lowest.numerator * share.denominator)
        #expect(share.numerator * range.highest.denominator <= range.highest.numerator * share.denominator)
    }

    /// Each schedule's entries: distinct dates, a status and a source each, positive values.
    func check<V>(_ name: String, _ schedule: Schedule<V>, positive: (V) -> Bool) {
        #expect(Set(schedule.entries.map(\.effectiveFrom)).count == schedule.entries.count, "\(name): two entries on one date")
        for entry in schedule.entries {
            #expect(!entry.source.isEmpty && positive(entry.value), "\(name) from \(entry.effectiveFrom)")
        }
    }

    @Test("every schedule is well formed: distinct dates, a source for each entry, positive values")
    func schedulesWellFormed() {
        check("depositInterestRates", p.depositInterestRates) { $0 > 0 }
        check("annualSubsidyRates", p.annualSubsidyRates) { $0 > 0 }
        check("loanRates", p.loanRates) { [$0.firstHomeUpTo5Years, $0.firstHomeOver5Years, $0.secondHomeUpTo5Years, $0.secondHomeOver5Years].allSatisfy { $0 > 0 } }
        check("minimumWageFen", p.minimumWageFen) { wages in [WageTier.i, .ii, .iii].allSatisfy { (wages[$0] ?? 0) > 0 } }
        check("cityAverageMonthlyWageFen", p.cityAverageMonthlyWageFen) { $0 > 0 }
        // Every county of the city has a minimum wage in every entry.
        for entry in p.minimumWageFen.entries {
            #expect(p.countyTier.value.values.allSatisfy { entry.value[$0] != nil })
        }
    }

    @Test("a grant uses the rate in force on its anniversary, not today's")
    func subsidyRateOnTheAnniversary() {
        var changed = p
        changed.annualSubsidyRates = p.annualSubsidyRates.adding(.init(from: BusinessDate("2027-01-01")!, 1_500, .placeholder,
                                                                       "a hypothetical committee decision: 1.5 % from 2027"))
        // 1,200.00 at 1.0 % = 12.00 on a 2026 anniversary; at 1.5 % = 18.00 on a 2027 one.
        #expect(SubsidyRules.annualGrant(remaining: 120_000, anniversary: BusinessDate("2026-12-31")!, parameters: changed) == 1_200)
        #expect(SubsidyRules.annualGrant(remaining: 120_000, anniversary: BusinessDate("2027-01-01")!, parameters: changed) == 1_800)
        #expect(changed.annualSubsidyRates.value(on: BusinessDate("2020-01-01")!) == 1_000, "before the schedule: its first rate")
        #expect(changed.annualSubsidyRates.entry(on: BusinessDate("2027-06-01")!).source.contains("hypothetical"))
    }

    @Test("the loan rate is the one in force on the decision day")
    func loanRateOnTheDay() {
        #expect(LoanRules.annualRate(on: BusinessDate("2025-05-07")!, firstHome: true, termMonths: 240, parameters: p) == 2_850)
        #expect(LoanRules.annualRate(on: BusinessDate("2025-05-08")!, firstHome: true, termMonths: 240, parameters: p) == 2_600)
        #expect(LoanRules.annualRate(on: BusinessDate("2026-03-16")!, firstHome: false, termMonths: 60, parameters: p) == 2_525)
    }

    @Test("the §2 minimum follows the minimum wage in force on the day of the payment")
    func minimumOnThePaymentDay() {
        var changed = p
        changed.minimumWageFen = p.minimumWageFen.adding(.init(
            from: BusinessDate("2027-01-01")!, [.i: .yuan(2_690), .ii: .yuan(2_460), .iii: .yuan(2_210)], .placeholder, "a hypothetical raise"))
        #expect(ContributionRules.monthlyMinimum(county: "320706", on: BusinessDate("2026-12-31")!, parameters: changed) == 11_300)
        // 2,460.00 x 5 % = 123.00 from the raise.
        #expect(ContributionRules.monthlyMinimum(county: "320706", on: BusinessDate("2027-01-01")!, parameters: changed) == 12_300)
    }
}
