/// §2 agreement contributions (协议缴存): schedules, minimums and contribution months.
public enum ContributionSchedule: String, Sendable, Codable, CaseIterable {
    case monthly, quarterly, flexible
}

public enum ContributionRules {
    /// §2: minimum monthly amount = the county's minimum wage in force on `date` (the day of the
    /// payment or of the agreement) x the minimum contribution ratio, rounded half-up to the fen.
    /// Nil when the county is not one of the city's.
    public static func monthlyMinimum(county: String, on date: BusinessDate, parameters p: PolicyParameters) -> Fen? {
        guard let tier = p.countyTier.value(on: date)[county], let wage = p.minimumWageFen.value(on: date)[tier] else { return nil }
        return Rounding.applyBasisPoints(wage, p.minimumContributionRatioBasisPoints.value(on: date))
    }

    /// The minimum for one payment under a schedule (decision: the minimum applies per payment;
    /// a quarterly payment covers three months).
    public static func minimumPerPayment(
        county: String, schedule: ContributionSchedule, on date: BusinessDate,
        parameters p: PolicyParameters
    ) -> Fen? {
        guard let monthly = monthlyMinimum(county: county, on: date, parameters: p) else { return nil }
        return schedule == .quarterly ? monthly * p.quarterlyMultiple.value(on: date) : monthly
    }

    /// The months a payment covers: its own month, plus the next two for a quarterly payment.
    public static func coveredMonths(paidOn date: BusinessDate, schedule: ContributionSchedule, parameters p: PolicyParameters) -> [YearMonth] {
        let count = schedule == .quarterly ? Int(p.quarterlyMultiple.value(on: date)) : 1
        return (0..<count).map { date.yearMonth.adding(months: $0) }
    }

    /// Contribution months (缴存月数): distinct calendar months covered by qualifying payments that
    /// have begun by `date`; recognised partner-city months add without double counting.
    public static func contributionMonths(
        covered: some Sequence<YearMonth>, recognised: some Sequence<YearMonth> = [],
        asOf date: BusinessDate
    ) -> Int {
        let current = date.yearMonth
        return Set(covered).union(recognised).filter { $0 <= current }.count
    }

    /// §9: the annual deductible cap = months x ratio x multiple x the city's average monthly wage
    /// that applies to the tax year (the entry in force on its 1 January: the previous year's wage).
    public static func annualTaxCap(year: Int, parameters p: PolicyParameters) -> Fen {
        let taxYear = YearMonth(year: year, month: 1)
        let wage = p.cityAverageMonthlyWageFen.value(onFirstDayOf: taxYear)
        let monthlyBase = wage * p.taxCapWageMultiple.value(onFirstDayOf: taxYear)
        return Rounding.applyBasisPoints(monthlyBase * p.taxCapMonths.value(onFirstDayOf: taxYear), p.taxCapRatioBasisPoints.value(onFirstDayOf: taxYear))
    }
}
