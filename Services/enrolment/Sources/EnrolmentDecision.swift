import Contracts
import Policy
import ServiceRuntime

/// The eligibility checks of §1, §2 and the validity clause, in the order an applicant would
/// want to hear them. Pure: no database, a pinned date.
struct EligibleApplicant: Sendable {
    let id: ResidentID
    let group: RetirementGroup
    let retirementMonth: YearMonth
    let monthlyMinimum: Fen
}

enum EnrolmentDecision {
    static func decide(_ request: EnrolmentRequest, on today: BusinessDate, parameters p: PolicyParameters) throws(Problem) -> EligibleApplicant {
        let fieldErrors = request.fieldErrors()
        guard fieldErrors.isEmpty else { throw Problem.malformed("some fields are invalid", errors: fieldErrors) }
        guard let id = ResidentID(request.idNumber, asOf: today) else {
            throw Problem.rule("invalid_id_number", "the resident ID number is not valid (GB 11643 check character or birth date)")
        }
        guard Eligibility.isSchemeInForce(on: today, parameters: p) else {
            throw Problem.rule("scheme_not_in_force", "the scheme is in force from \(p.schemeValidFrom.value) to \(p.schemeValidUntil.value)")
        }
        guard Eligibility.isCityCounty(request.county, on: today, parameters: p),
            let minimum = ContributionRules.monthlyMinimum(county: request.county, on: today, parameters: p)
        else {
            throw Problem.rule("county_outside_city", "county \(request.county) is not a county of Lianyungang")
        }
        guard request.fullCivilCapacity ?? true else {
            throw Problem.rule("lacks_civil_capacity", "§1 requires full civil capacity")
        }
        let group = request.retirementGroup ?? RetirementGroup.defaultGroup(for: id.sex)
        guard (id.sex == .male) == (group == .man) else {
            throw Problem.rule("retirement_group_mismatch", "retirement group \(group.rawValue) does not match the ID number")
        }
        switch Eligibility.workingAge(birthDate: id.birthDate, group: group, on: today, parameters: p) {
        case .belowWorkingAge:
            throw Problem.rule("below_working_age", "applicants must be at least \(p.minimumWorkingAgeYears.value(on: today))")
        case .aboveRetirementAge:
            throw Problem.rule("above_retirement_age", "the applicant has reached the statutory retirement age")
        case .eligible:
            break
        }
        let perPayment = ContributionRules.minimumPerPayment(county: request.county, schedule: request.agreement.schedule, on: today, parameters: p)!
        guard request.agreement.amountFen >= perPayment else {
            throw Problem.rule(
                "agreement_below_minimum", "a \(request.agreement.schedule.rawValue) payment must be at least \(perPayment) fen",
                extensions: ["minimumFen": perPayment])
        }
        let retirement = RetirementAge.retirementMonth(birthMonth: id.birthDate.yearMonth, group: group, on: today, parameters: p)
        return EligibleApplicant(id: id, group: group, retirementMonth: retirement, monthlyMinimum: minimum)
    }

    /// The minimum check for a changed agreement.
    static func checkAgreement(_ agreement: Agreement, county: String, on today: BusinessDate, parameters p: PolicyParameters) throws(Problem) {
        guard agreement.amountFen > 0 else {
            throw Problem.malformed("amountFen must be positive", errors: [.init(field: "amountFen", message: "a positive number of fen")])
        }
        guard let perPayment = ContributionRules.minimumPerPayment(county: county, schedule: agreement.schedule, on: today, parameters: p) else {
            throw Problem.rule("county_outside_city", "county \(county) is not a county of Lianyungang")
        }
        guard agreement.amountFen >= perPayment else {
            throw Problem.rule(
                "agreement_below_minimum", "a \(agreement.schedule.rawValue) payment must be at least \(perPayment) fen",
                extensions: ["minimumFen": perPayment])
        }
    }
}
