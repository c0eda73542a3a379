/// Retirement groups of the 2024 reform (in force 2025-01-01). Flexibly employed women default
/// to the original-55 group unless they state otherwise (POLICY.md decisions).
public enum RetirementGroup: String, Sendable, Codable, CaseIterable {
    case man = "man"
    case womanOriginal55 = "woman_55"
    case womanOriginal50 = "woman_50"

    public static func defaultGroup(for sex: ResidentID.Sex) -> RetirementGroup {
        sex == .male ? .man : .womanOriginal55
    }
}

/// One group's phase-in: the original age, one month's delay for every `monthsPerStep`
/// months since the reform began, up to `maximumDelayMonths`.
public struct RetirementRule: Sendable {
    public let originalAgeYears: Int
    public let monthsPerStep: Int
    public let maximumDelayMonths: Int
}

public enum RetirementAge {
    /// The month in which a person born in `birthMonth` reaches the statutory retirement age.
    /// The phase-in counts from the original retirement month: the reform's first month is month 1.
    /// The rules are those in force on `date`, the day the age is judged (an enrolment, a loan).
    public static func retirementMonth(
        birthMonth: YearMonth, group: RetirementGroup, on date: BusinessDate,
        parameters p: PolicyParameters
    ) -> YearMonth {
        let rule = p.retirementRules.value(on: date)[group]!
        let original = birthMonth.adding(months: rule.originalAgeYears * 12)
        let start = p.retirementReformStart.value(on: date)
        guard original >= start else { return original }
        let monthNumber = start.months(until: original) + 1
        let delay = min((monthNumber + rule.monthsPerStep - 1) / rule.monthsPerStep, rule.maximumDelayMonths)
        return original.adding(months: delay)
    }
}
