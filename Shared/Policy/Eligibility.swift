/// §1 and the validity clause: who may join, and when.
public enum Eligibility {
    public enum WorkingAge: Equatable, Sendable { case eligible, belowWorkingAge, aboveRetirementAge }

    /// Scheme 附则: in force from 2025-06-09 to 2027-12-31 inclusive.
    public static func isSchemeInForce(on date: BusinessDate, parameters p: PolicyParameters) -> Bool {
        date >= p.schemeValidFrom.value && date <= p.schemeValidUntil.value
    }

    /// §1 法定就业年龄: at least 16 and not yet in the statutory retirement month.
    public static func workingAge(
        birthDate: BusinessDate, group: RetirementGroup, on date: BusinessDate,
        parameters p: PolicyParameters
    ) -> WorkingAge {
        if birthDate.wholeYears(until: date) < p.minimumWorkingAgeYears.value(on: date) { return .belowWorkingAge }
        let retirement = RetirementAge.retirementMonth(birthMonth: birthDate.yearMonth, group: group, on: date, parameters: p)
        return date.yearMonth >= retirement ? .aboveRetirementAge : .eligible
    }

    /// A county of Lianyungang (3207xx) that the minimum-wage tier table in force on `date` knows.
    public static func isCityCounty(_ county: String, on date: BusinessDate, parameters p: PolicyParameters) -> Bool {
        county.hasPrefix(p.cityCountyPrefix.value) && p.countyTier.value(on: date)[county] != nil
    }

    /// "Graduate within 2 years": graduated on or before `date` and no more than 2 years before it.
    public static func isRecentGraduate(graduationDate: BusinessDate?, on date: BusinessDate, parameters p: PolicyParameters) -> Bool {
        guard let graduationDate, graduationDate <= date else { return false }
        return graduationDate.adding(years: p.graduateWindowYears.value(on: date)) >= date
    }
}
