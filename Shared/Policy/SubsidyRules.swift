/// §3 incentives, §11 entrepreneurship and §12 social-insurance subsidy as pure rules.
public enum EntrepreneurshipGround: String, Codable, Sendable, CaseIterable {
    case veteran  // 已灵活就业的退役军人
    case recentGraduate = "recent_graduate"  // 毕业2年内的高校毕业生
    case ruralIndividualBusiness = "rural_individual_business"  // 农民从事个体经营
}

public enum SubsidyRules {
    public struct Grant: Equatable, Sendable {
        public let amount: Fen
        public let reason: String
    }

    /// §3: 200 yuan on the first deposit; 300 for families with two or more children; 400 for
    /// bachelor-or-above graduates within 2 years of graduation, measured at the first deposit.
    /// The highest applicable tier, once.
    public static func openingSubsidy(
        childrenCount: Int, bachelorOrAbove: Bool, graduationDate: BusinessDate?,
        firstDepositOn: BusinessDate, parameters p: PolicyParameters
    ) -> Grant {
        let tiers = p.openingSubsidy.value(on: firstDepositOn)
        if bachelorOrAbove, Eligibility.isRecentGraduate(graduationDate: graduationDate, on: firstDepositOn, parameters: p) {
            return Grant(amount: tiers.recentGraduate, reason: "opening subsidy: graduate within 2 years (§3)")
        }
        if childrenCount >= tiers.childrenThreshold {
            return Grant(amount: tiers.twoOrMoreChildren, reason: "opening subsidy: family with 2 or more children (§3)")
        }
        return Grant(amount: tiers.base, reason: "opening subsidy (§3)")
    }

    /// §3: each full year funds stay, the year's rate on what remains of that lot, half-up to the
    /// fen. The rate is the committee's rate in force on the anniversary that completes the year.
    public static func annualGrant(remaining: Fen, anniversary: BusinessDate, parameters p: PolicyParameters) -> Fen {
        Rounding.halfUp(remaining * p.annualSubsidyRates.value(on: anniversary), RateUnit.perOne)
    }

    /// The anniversaries of a lot from `from` (inclusive) up to `asOf`, each `n` whole years after
    /// `startedOn` (29 February -> 28 February), and the first one after `asOf`.
    public static func anniversaries(startedOn: BusinessDate, from: BusinessDate, asOf: BusinessDate) -> (due: [BusinessDate], next: BusinessDate) {
        var due: [BusinessDate] = []
        var years = 1
        var anniversary = startedOn.adding(years: years)
        while anniversary <= asOf {
            if anniversary >= from { due.append(anniversary) }
            years += 1
            anniversary = startedOn.adding(years: years)
        }
        return (due, anniversary)
    }

    /// Only anniversaries inside the scheme's validity window earn the annual subsidy.
    public static func earnsAnnualSubsidy(anniversary: BusinessDate, parameters p: PolicyParameters) -> Bool {
        Eligibility.isSchemeInForce(on: anniversary, parameters: p)
    }

    /// §3: the lifetime total of opening and annual subsidies per person is capped; a grant is
    /// clipped to what the cap in force on the grant's day (`date`) leaves.
    public static func clipToCap(_ amount: Fen, alreadyGranted: Fen, on date: BusinessDate, parameters p: PolicyParameters) -> Fen {
        max(0, min(amount, p.lifetimeSubsidyCapFen.value(on: date) - alreadyGranted))
    }

    public struct SocialInsuranceDecision: Equatable, Sendable {
        public let approved: Bool
        public let subsidy: Fen
        public let reason: String
    }

    /// §12: graduates within 2 years of leaving school, unemployed before, who pay social
    /// insurance as flexible workers: the configured share (1/2 to 2/3) of what they paid, for
    /// at most 24 months. Rounded half-up to the fen.
    public static func socialInsurance(
        paid: Fen, month: YearMonth, leftSchoolOn: BusinessDate, unemployedBefore: Bool,
        monthsAlreadySubsidised: Int, parameters p: PolicyParameters
    ) -> SocialInsuranceDecision {
        guard paid > 0 else { return .init(approved: false, subsidy: 0, reason: "nothing_paid") }
        guard unemployedBefore else { return .init(approved: false, subsidy: 0, reason: "not_unemployed_before_flexible_work") }
        let monthStart = BusinessDate(year: month.year, month: month.month, day: 1)!
        guard leftSchoolOn <= monthStart.adding(months: 1),
            Eligibility.isRecentGraduate(graduationDate: leftSchoolOn, on: max(monthStart, leftSchoolOn), parameters: p)
        else {
            return .init(approved: false, subsidy: 0, reason: "not_within_2_years_of_leaving_school")
        }
        guard monthsAlreadySubsidised < p.socialInsuranceMaxMonths.value(onFirstDayOf: month) else {
            return .init(approved: false, subsidy: 0, reason: "subsidy_period_exhausted")
        }
        let share = p.socialInsuranceShare.value(onFirstDayOf: month)
        return .init(approved: true, subsidy: Rounding.halfUp(paid * share.numerator, share.denominator), reason: "approved")
    }

    /// §11: the grounds on which a participant qualifies for start-up support, if any.
    public static func entrepreneurshipGrounds(
        veteran: Bool, bachelorOrAbove: Bool, graduationDate: BusinessDate?, rural: Bool,
        individualBusiness: Bool, on date: BusinessDate,
        parameters p: PolicyParameters
    ) -> [EntrepreneurshipGround] {
        var grounds: [EntrepreneurshipGround] = []
        if veteran { grounds.append(.veteran) }
        if bachelorOrAbove, Eligibility.isRecentGraduate(graduationDate: graduationDate, on: date, parameters: p) { grounds.append(.recentGraduate) }
        if rural && individualBusiness { grounds.append(.ruralIndividualBusiness) }
        return grounds
    }
}
