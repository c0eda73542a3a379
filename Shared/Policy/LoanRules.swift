import Foundation

public enum RepaymentMethod: String, Codable, Sendable, CaseIterable {
    case equalInstallment = "equal_installment"  // 等额本息
    case equalPrincipal = "equal_principal"  // 等额本金
}

/// One month of a repayment schedule.
public struct Instalment: Codable, Sendable, Equatable {
    public var number: Int
    public var principalFen: Fen
    public var interestFen: Fen
    public var paymentFen: Fen
    public var remainingFen: Fen

    public init(number: Int, principalFen: Fen, interestFen: Fen, paymentFen: Fen, remainingFen: Fen) {
        self.number = number
        self.principalFen = principalFen
        self.interestFen = interestFen
        self.paymentFen = paymentFen
        self.remainingFen = remainingFen
    }
}

/// What the loan rules need to know about the applicant (and spouse, summed) and the house.
public struct LoanFacts: Sendable {
    public var balanceFen: Fen
    /// Average monthly contribution over the contribution history.
    public var averageMonthlyFen: Fen
    /// Cumulative contribution months, recognised partner-city months included (§4, §17).
    public var contributionMonths: Int
    /// Of the last 12 months, how many had a contribution (§5 frequency).
    public var monthsPaidOfLast12: Int
    public var couple: Bool
    public var recentGraduate: Bool
    public var retirementMonth: YearMonth

    public init(
        balanceFen: Fen, averageMonthlyFen: Fen, contributionMonths: Int, monthsPaidOfLast12: Int, couple: Bool,
        recentGraduate: Bool, retirementMonth: YearMonth
    ) {
        self.balanceFen = balanceFen
        self.averageMonthlyFen = averageMonthlyFen
        self.contributionMonths = contributionMonths
        self.monthsPaidOfLast12 = monthsPaidOfLast12
        self.couple = couple
        self.recentGraduate = recentGraduate
        self.retirementMonth = retirementMonth
    }
}

public struct LoanRequest: Sendable {
    public var county: String
    public var priceFen: Fen
    public var firstHome: Bool
    /// §7: green building, improvement housing or trade-in (以旧换新).
    public var betterHousing: Bool
    public var requestedFen: Fen
    public var termMonths: Int
    public var method: RepaymentMethod
    public var monthlyIncomeFen: Fen
    public var monthlyDebtFen: Fen

    public init(
        county: String, priceFen: Fen, firstHome: Bool, betterHousing: Bool, requestedFen: Fen, termMonths: Int,
        method: RepaymentMethod, monthlyIncomeFen: Fen, monthlyDebtFen: Fen
    ) {
        self.county = county
        self.priceFen = priceFen
        self.firstHome = firstHome
        self.betterHousing = betterHousing
        self.requestedFen = requestedFen
        self.termMonths = termMonths
        self.method = method
        self.monthlyIncomeFen = monthlyIncomeFen
        self.monthlyDebtFen = monthlyDebtFen
    }
}

/// The quota with every factor shown (§5, §6: one decision that explains itself).
public struct LoanQuota: Codable, Sendable, Equatable {
    public var balanceFen: Fen
    public var averageMonthlyFen: Fen
    public var durationFactorBasisPoints: Int64
    public var frequencyFactorBasisPoints: Int64
    /// §5 deposit-loan linkage quota before uplifts.
    public var linkageFen: Fen
    /// §7 +20 % and §10 +50 %, additive.
    public var upliftBasisPoints: Int64
    public var linkageWithUpliftFen: Fen
    public var cityCeilingFen: Fen
    public var loanToValueFen: Fen
    public var repaymentCapacityFen: Fen
    /// The lowest of the caps and the request, rounded down to the quota step.
    public var quotaFen: Fen
    /// Which cap decided the quota: requested, linkage, city_ceiling, loan_to_value, repayment_capacity.
    public var bindingFactor: String
    /// The annual rate in thousandths of a percent (2600 = 2.600 %).
    public var annualRateMilliPercent: Int64
    public var maximumTermMonths: Int

    public init(
        balanceFen: Fen, averageMonthlyFen: Fen, durationFactorBasisPoints: Int64, frequencyFactorBasisPoints: Int64, linkageFen: Fen,
        upliftBasisPoints: Int64, linkageWithUpliftFen: Fen, cityCeilingFen: Fen, loanToValueFen: Fen, repaymentCapacityFen: Fen,
        quotaFen: Fen, bindingFactor: String, annualRateMilliPercent: Int64, maximumTermMonths: Int
    ) {
        self.balanceFen = balanceFen
        self.averageMonthlyFen = averageMonthlyFen
        self.durationFactorBasisPoints = durationFactorBasisPoints
        self.frequencyFactorBasisPoints = frequencyFactorBasisPoints
        self.linkageFen = linkageFen
        self.upliftBasisPoints = upliftBasisPoints
        self.linkageWithUpliftFen = linkageWithUpliftFen
        self.cityCeilingFen = cityCeilingFen
        self.loanToValueFen = loanToValueFen
        self.repaymentCapacityFen = repaymentCapacityFen
        self.quotaFen = quotaFen
        self.bindingFactor = bindingFactor
        self.annualRateMilliPercent = annualRateMilliPercent
        self.maximumTermMonths = maximumTermMonths
    }
}

/// §4-§7, §10 loans: eligibility, the quota and the schedule, as pure functions.
public enum LoanRules {
    /// §4 and project decisions: reasons the application is refused, empty when eligible.
    public static func refusals(facts: LoanFacts, request: LoanRequest, on date: BusinessDate, parameters p: PolicyParameters) -> [String] {
        var reasons: [String] = []
        if facts.contributionMonths < p.loanMinimumContributionMonths.value(on: date) { reasons.append("contribution_months_below_6") }
        if !Eligibility.isCityCounty(request.county, on: date, parameters: p) { reasons.append("house_outside_city") }
        if request.termMonths < 1 || request.termMonths > maximumTerm(retirementMonth: facts.retirementMonth, on: date, parameters: p) {
            reasons.append("term_beyond_limit")
        }
        return reasons
    }

    /// The longest term: the city's maximum, and not past retirement + the allowed years.
    public static func maximumTerm(retirementMonth: YearMonth, on date: BusinessDate, parameters p: PolicyParameters) -> Int {
        let untilLimit = date.yearMonth.months(until: retirementMonth.adding(months: 12 * p.termPastRetirementYears.value(on: date)))
        return max(0, min(p.maximumTermMonths.value(on: date), untilLimit))
    }

    /// The date-effective rate: first or second home, up to or over 5 years.
    public static func annualRate(on date: BusinessDate, firstHome: Bool, termMonths: Int, parameters p: PolicyParameters) -> Int64 {
        let table = p.loanRates.value(on: date)
        let short = termMonths <= p.shortTermMonths.value(on: date)
        switch (firstHome, short) {
        case (true, true): return table.firstHomeUpTo5Years
        case (true, false): return table.firstHomeOver5Years
        case (false, true): return table.secondHomeUpTo5Years
        case (false, false): return table.secondHomeOver5Years
        }
    }

    static func factor(_ table: [(minimumMonths: Int, basisPoints: Int64)], _ months: Int) -> Int64 {
        table.last { months >= $0.minimumMonths }?.basisPoints ?? table.first?.basisPoints ?? 10_000
    }

    /// The quota with its factors. Every step on outside values is checked: a plan whose
    /// figures overflow is refused (`AmountOverflow`), never a trap.
    public static func quota(facts: LoanFacts, request: LoanRequest, on date: BusinessDate, parameters p: PolicyParameters) throws(AmountOverflow) -> LoanQuota
    {
        let f = p.linkage.value(on: date)
        let duration = factor(f.durationFactors, facts.contributionMonths)
        let frequency = factor(f.frequencyFactors, facts.monthsPaidOfLast12)
        // avg monthly x 12 x term years = avg monthly x term months.
        let contributionPart =
            try Checked.multiply(try Checked.multiply(facts.averageMonthlyFen, Int64(request.termMonths)), f.contributionMultipleBasisPoints) / 10_000
        let base = try Checked.add(try Checked.multiply(facts.balanceFen, f.balanceMultiple), contributionPart)
        let linkage = try Checked.multiply(try Checked.multiply(base / f.divisor, duration) / 10_000, frequency) / 10_000
        let uplift =
            (request.betterHousing ? p.housingTypeUpliftBasisPoints.value(on: date) : 0)
            + (facts.recentGraduate ? p.talentUpliftBasisPoints.value(on: date) : 0)
        let withUplift = try Checked.multiply(linkage, 10_000 + uplift) / 10_000
        let ceiling =
            try Checked.multiply(facts.couple ? p.loanCeilingCoupleFen.value(on: date) : p.loanCeilingSingleFen.value(on: date), 10_000 + uplift) / 10_000
        let ltv =
            try Checked.multiply(
                request.priceFen,
                request.firstHome
                    ? p.loanToValueFirstHomeBasisPoints.value(on: date)
                    : p.loanToValueSecondHomeBasisPoints.value(on: date)) / 10_000
        let rate = annualRate(on: date, firstHome: request.firstHome, termMonths: request.termMonths, parameters: p)
        let payable = max(
            0,
            try Checked.multiply(try Checked.subtract(request.monthlyIncomeFen, request.monthlyDebtFen), p.repaymentCapacityBasisPoints.value(on: date))
                / 10_000)
        let capacity = try maximumPrincipal(monthlyPayment: payable, annualRateMilliPercent: rate, months: max(1, request.termMonths), method: request.method)
        let candidates: [(String, Fen)] = [
            ("requested", request.requestedFen), ("linkage", withUplift), ("city_ceiling", ceiling),
            ("loan_to_value", ltv), ("repayment_capacity", capacity),
        ]
        let binding = candidates.min { $0.1 < $1.1 }!
        let step = p.quotaRoundingFen.value(on: date)
        return LoanQuota(
            balanceFen: facts.balanceFen, averageMonthlyFen: facts.averageMonthlyFen, durationFactorBasisPoints: duration,
            frequencyFactorBasisPoints: frequency, linkageFen: linkage, upliftBasisPoints: uplift, linkageWithUpliftFen: withUplift,
            cityCeilingFen: ceiling, loanToValueFen: ltv, repaymentCapacityFen: capacity,
            quotaFen: max(0, binding.1) / step * step, bindingFactor: binding.0, annualRateMilliPercent: rate,
            maximumTermMonths: maximumTerm(retirementMonth: facts.retirementMonth, on: date, parameters: p))
    }

    // MARK: Schedules

    static func monthlyRate(_ annualMilliPercent: Int64) -> Decimal { Decimal(annualMilliPercent) / Decimal(100_000 * 12) }

    static func roundedFen(_ value: Decimal, _ mode: NSDecimalNumber.RoundingMode) -> Fen {
        var input = value
        var output = Decimal()
        NSDecimalRound(&output, &input, 0, mode)
        return NSDecimalNumber(decimal: output).int64Value
    }

    /// Interest of one month on `balance`, rounded half-up to the fen.
    static func monthInterest(_ balance: Fen, _ annualMilliPercent: Int64) -> Fen {
        Rounding.halfUp(balance * annualMilliPercent, 100_000 * 12)
    }

    /// 等额本息: the level payment P·r·(1+r)^n / ((1+r)^n − 1), rounded half-up to the fen.
    public static func levelPayment(principal: Fen, annualRateMilliPercent: Int64, months: Int) -> Fen {
        let r = monthlyRate(annualRateMilliPercent)
        guard r > 0 else { return Rounding.halfUp(principal, Int64(months)) }
        let growth = pow(1 + r, months)
        return roundedFen(Decimal(principal) * r * growth / (growth - 1), .plain)
    }

    /// The schedule rounded to the fen; the last instalment absorbs what rounding left.
    public static func schedule(principal: Fen, annualRateMilliPercent: Int64, months: Int, method: RepaymentMethod) -> [Instalment] {
        var remaining = principal
        var rows: [Instalment] = []
        let level = levelPayment(principal: principal, annualRateMilliPercent: annualRateMilliPercent, months: months)
        for number in 1...months {
            let interest = monthInterest(remaining, annualRateMilliPercent)
            var principalPart: Fen =
                switch method {
                case .equalInstallment: level - interest
                case .equalPrincipal: principal / Int64(months)
                }
            if number == months { principalPart = remaining }
            principalPart = min(max(principalPart, 0), remaining)
            remaining -= principalPart
            rows.append(
                Instalment(
                    number: number, principalFen: principalPart, interestFen: interest,
                    paymentFen: principalPart + interest, remainingFen: remaining))
        }
        return rows
    }

    /// The largest principal whose highest monthly payment fits `monthlyPayment` (rounded down to the fen).
    public static func maximumPrincipal(monthlyPayment: Fen, annualRateMilliPercent: Int64, months: Int, method: RepaymentMethod) throws(AmountOverflow) -> Fen
    {
        guard monthlyPayment > 0 else { return 0 }
        let r = monthlyRate(annualRateMilliPercent)
        let n = Decimal(months)
        let principal: Decimal
        switch method {
        case .equalInstallment:
            guard r > 0 else { return try Checked.multiply(monthlyPayment, Int64(months)) }
            let growth = pow(1 + r, months)
            principal = Decimal(monthlyPayment) * (growth - 1) / (r * growth)
        case .equalPrincipal:
            // The first payment is the highest: P/n + P·r.
            principal = Decimal(monthlyPayment) / (1 / n + r)
        }
        // Decimal's conversion to Int64 does not trap beyond its range: it answers garbage.
        guard principal < Decimal(Int64.max) else { throw AmountOverflow("a principal of \(principal) fen is beyond any amount") }
        return roundedFen(principal, .down)
    }

    // MARK: Overdue (§13)

    /// The longest run of consecutive instalment numbers among `overdue`.
    public static func longestRun(_ overdue: [Int]) -> Int {
        var longest = 0, run = 0, previous: Int?
        for number in overdue.sorted() {
            run = previous.map { number == $0 + 1 } == true ? run + 1 : 1
            longest = max(longest, run)
            previous = number
        }
        return longest
    }

    /// Whether the overdue history creates a bad-credit record: `consecutive` or `cumulative`
    /// overdue instalments at the thresholds.
    /// POLICY.md decisions: a bad-credit record from our own overdue loan blocks until the day
    /// before the 5th anniversary of the day its arrears were cleared (the last day it blocks).
    public static func badCreditActiveUntil(arrearsClearedOn cleared: BusinessDate, parameters p: PolicyParameters) -> BusinessDate {
        cleared.adding(years: p.badCreditRetentionYears.value(on: cleared)).adding(days: -1)
    }

    /// The thresholds are those in force on `date`, the day the overdue history is judged.
    public static func badCredit(consecutive: Int, cumulative: Int, on date: BusinessDate, parameters p: PolicyParameters) -> String? {
        if consecutive >= p.badCreditConsecutiveOverdue.value(on: date) { return "\(consecutive) consecutive overdue instalments (§13)" }
        if cumulative >= p.badCreditCumulativeOverdue.value(on: date) { return "\(cumulative) overdue instalments in all (§13)" }
        return nil
    }
}
