import Policy
import Testing

/// Policy numbers that change on dates (the deposit rate, the committee's annual subsidy rate,
/// the loan rates, the minimum wage, the city's average wage) are dated schedules, each entry
/// with its own status and source; every chosen value lies inside the range the scheme seeds
/// for it, and a rule uses the value in force on the day its clause names.
@Suite("Dated parameter schedules and their seeded ranges")
struct ParameterScheduleTests {
    let p = PolicyParameters.lianyungang2025

    /// The fixed facts of the scheme and the city: not values in time (see `Parameter`).
    static let fixedFacts: Set<String> = ["schemeValidFrom", "schemeValidUntil", "cityCountyPrefix", "cityCode", "countyNames", "borderPartners"]

    @Test("every policy number is a dated schedule: each entry with its date, status and source, dates distinct")
    func everyParameterDated() {
        var schedules = 0
        for child in Mirror(reflecting: p).children {
            let name = child.label ?? "?"
            if Self.fixedFacts.contains(name) { continue }
            guard let schedule = child.value as? any DatedParameter else {
                Issue.record("\(name) is not a dated schedule")
                continue
            }
            schedules += 1
            let entries = schedule.dated
            #expect(!entries.isEmpty, "\(name)")
            #expect(Set(entries.map(\.effectiveFrom)).count == entries.count, "\(name): two entries on one date")
            for entry in entries {
                #expect(!entry.source.isEmpty, "\(name) from \(entry.effectiveFrom): no source")
                // A value from the scheme itself cannot apply before the scheme.
                if entry.status == .seed { #expect(entry.effectiveFrom >= p.schemeValidFrom.value, "\(name): seed before the scheme") }
            }
        }
        #expect(schedules >= 50, "\(schedules) schedules found")
    }

    @Test("every annual subsidy rate lies inside §3's 1 %-1.5 % as seeded on its own date")
    func subsidyRatesInRange() {
        for entry in p.annualSubsidyRates.entries {
            #expect(p.annualSubsidyRateRange.value(on: entry.effectiveFrom).contains(entry.value), "\(entry.effectiveFrom): \(entry.value)")
        }
    }

    @Test("every social-insurance share lies inside §12's 1/2-2/3")
    func socialInsuranceShareInRange() {
        for entry in p.socialInsuranceShare.entries {
            let share = entry.value, range = p.socialInsuranceShareRange.value(on: entry.effectiveFrom)
            // a/b >= c/d  <=>  a·d >= c·b (positive denominators)
            #expect(share.numerator * range.lowest.denominator >= range.lowest.numerator * share.denominator)
            #expect(share.numerator * range.highest.denominator <= range.highest.numerator * share.denominator)
        }
    }

    @Test("every minimum and maximum contribution ratio lies inside the national 5 %-12 %, the minimum below the maximum")
    func contributionRatiosInRange() {
        for entry in p.minimumContributionRatioBasisPoints.entries + p.maximumContributionRatioBasisPoints.entries {
            #expect(p.contributionRatioRange.value(on: entry.effectiveFrom).contains(entry.value), "\(entry.effectiveFrom): \(entry.value)")
        }
        for day in p.minimumContributionRatioBasisPoints.entries.map(\.effectiveFrom) + p.maximumContributionRatioBasisPoints.entries.map(\.effectiveFrom) {
            #expect(p.minimumContributionRatioBasisPoints.value(on: day) <= p.maximumContributionRatioBasisPoints.value(on: day))
        }
    }

    @Test("a rent month is held to the cap in force on its first day")
    func rentCapPerMonth() throws {
        var changed = p
        changed.rentMonthlyCapFen = p.rentMonthlyCapFen.adding(.init(from: BusinessDate("2027-01-01")!, .yuan(1_800), .placeholder, "a hypothetical raise"))
        let december = YearMonth(year: 2026, month: 12)
        // 1,800.00 a month for December 2026 and January 2027: January may, December may not.
        let refusal = try #require(
            WithdrawalRules.rentMonthsRefusal(
                shares: [(december, Fen(180_000)), (december.adding(months: 1), Fen(180_000))],
                used: [:], monthlyRentFen: 200_000, parameters: changed))
        #expect(refusal.detail.contains("2026-12: 0 fen already used of 150000 fen") && !refusal.detail.contains("2027-01"), "\(refusal.detail)")
        #expect(WithdrawalRules.rentAllowance(monthlyRentFen: 200_000, months: 2, on: BusinessDate("2027-01-05")!, parameters: changed) == 360_000)
    }

    @Test("a month's value is the one in force on its first day, for any month a request can name")
    func valueOnFirstDay() {
        let midMonth = p.rentMonthlyCapFen.adding(.init(from: BusinessDate("2027-01-15")!, .yuan(1_800), .placeholder, "a hypothetical raise mid-month"))
        #expect(midMonth.value(onFirstDayOf: YearMonth(year: 2027, month: 1)) == .yuan(1_500), "not yet on 1 January")
        #expect(midMonth.value(onFirstDayOf: YearMonth(year: 2027, month: 2)) == .yuan(1_800))
        // Months no date can hold (year 10000, year 1) still have a value: no trap, no fallback.
        #expect(midMonth.value(onFirstDayOf: YearMonth(year: 9999, month: 12).adding(months: 11)) == .yuan(1_800))
        #expect(midMonth.value(onFirstDayOf: YearMonth(year: 1, month: 1)) == .yuan(1_500))
    }

    @Test("a grant is clipped to the lifetime cap in force on its own day")
    func lifetimeCapOnTheGrantDay() {
        var changed = p
        changed.lifetimeSubsidyCapFen = p.lifetimeSubsidyCapFen.adding(
            .init(from: BusinessDate("2027-01-01")!, .yuan(12_000), .placeholder, "a hypothetical raise"))
        #expect(SubsidyRules.clipToCap(50_000, alreadyGranted: .yuan(10_000), on: BusinessDate("2026-12-31")!, parameters: changed) == 0)
        #expect(SubsidyRules.clipToCap(50_000, alreadyGranted: .yuan(10_000), on: BusinessDate("2027-01-01")!, parameters: changed) == 50_000)
    }

    @Test("the interest day basis is the one in force on the period's last day")
    func interestBasisOnTheDay() {
        var changed = p
        changed.interestDayBasis = p.interestDayBasis.adding(
            .init(from: BusinessDate("2027-07-01")!, 365, .placeholder, "a hypothetical change to an actual/365 year"))
        // Interest = accrued / (basis x 100,000): 72 x 365 x 100,000 is 73 fen on a 360-day year, 72 on a 365-day one.
        let accrued: Int64 = 365 * RateUnit.perOne
        #expect(DepositInterest.interest(accrued: accrued, on: BusinessDate("2027-06-30")!, parameters: changed) == 1)
        #expect(DepositInterest.interest(accrued: accrued * 10, on: BusinessDate("2027-06-30")!, parameters: changed) == 10)
        #expect(DepositInterest.interest(accrued: accrued * 72, on: BusinessDate("2027-06-30")!, parameters: changed) == 73)
        #expect(DepositInterest.interest(accrued: accrued * 72, on: BusinessDate("2028-06-30")!, parameters: changed) == 72)
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
        check("loanRates", p.loanRates) {
            [$0.firstHomeUpTo5Years, $0.firstHomeOver5Years, $0.secondHomeUpTo5Years, $0.secondHomeOver5Years].allSatisfy { $0 > 0 }
        }
        check("minimumWageFen", p.minimumWageFen) { wages in [WageTier.i, .ii, .iii].allSatisfy { (wages[$0] ?? 0) > 0 } }
        check("cityAverageMonthlyWageFen", p.cityAverageMonthlyWageFen) { $0 > 0 }
        // Every county of the city has a minimum wage in every entry, whichever tier list is in force.
        for entry in p.minimumWageFen.entries {
            #expect(p.countyTier.value(on: entry.effectiveFrom).values.allSatisfy { entry.value[$0] != nil })
        }
        for tiers in p.countyTier.entries {
            #expect(tiers.value.values.allSatisfy { p.minimumWageFen.value(on: tiers.effectiveFrom)[$0] != nil })
        }
    }

    @Test("a grant uses the rate in force on its anniversary, not today's")
    func subsidyRateOnTheAnniversary() {
        var changed = p
        changed.annualSubsidyRates = p.annualSubsidyRates.adding(
            .init(
                from: BusinessDate("2027-01-01")!, 1_500, .placeholder,
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
        changed.minimumWageFen = p.minimumWageFen.adding(
            .init(
                from: BusinessDate("2027-01-01")!, [.i: .yuan(2_690), .ii: .yuan(2_460), .iii: .yuan(2_210)], .placeholder, "a hypothetical raise"))
        #expect(ContributionRules.monthlyMinimum(county: "320706", on: BusinessDate("2026-12-31")!, parameters: changed) == 11_300)
        // 2,460.00 x 5 % = 123.00 from the raise.
        #expect(ContributionRules.monthlyMinimum(county: "320706", on: BusinessDate("2027-01-01")!, parameters: changed) == 12_300)
    }
}
