/// THE parameters file: every policy number of the suite lives here and nowhere else, each with
/// its status and source (see ../shared/policy/POLICY.md). A later scheme replaces this value.
///
/// Status: `seed` = printed in the scheme (连政办规〔2025〕3号); `sourced` = a public figure found
/// elsewhere; `placeholder` = not published, our documented guess; `derived` = computed from others;
/// `decision` = a project decision where the scheme is silent.
public enum ParameterStatus: String, Sendable, Codable { case seed, sourced, placeholder, derived, decision }

/// A fixed fact of the scheme or the city, not a value in time: the validity window itself, the
/// city's code and its counties' names, the partner cities of the cooperation. Every policy
/// number is a dated `Schedule` instead; these are what the schedules are about.
public struct Parameter<Value: Sendable>: Sendable {
    public let value: Value
    public let status: ParameterStatus
    public let source: String
    public init(_ value: Value, _ status: ParameterStatus, _ source: String) {
        self.value = value
        self.status = status
        self.source = source
    }
}

/// Jiangsu minimum-wage tiers (一类/二类/三类地区).
public enum WageTier: String, Sendable, Codable { case i = "I", ii = "II", iii = "III" }

public struct OpeningSubsidyTiers: Sendable {
    public let base: Fen
    /// 二孩及以上子女家庭: families with at least `childrenThreshold` children.
    public let childrenThreshold: Int
    public let twoOrMoreChildren: Fen
    public let recentGraduate: Fen
}

/// The HPF loan rates in force from a date (one entry of the `loanRates` schedule).
public struct LoanRate: Sendable {
    /// Annual rates in basis points of a percent (1 = 0.001 %): 2.10 % = 2100.
    public let firstHomeUpTo5Years: Int64
    public let firstHomeOver5Years: Int64
    public let secondHomeUpTo5Years: Int64
    public let secondHomeOver5Years: Int64
}

/// §5 存贷挂钩: the deposit-loan linkage formula, modelled on a border-region city's published one:
/// quota = (balance x balanceMultiple + average monthly contribution x term months x
/// contributionMultiple) / divisor x duration factor x frequency factor.
public struct LinkageFormula: Sendable {
    public let balanceMultiple: Int64
    public let contributionMultipleBasisPoints: Int64
    public let divisor: Int64
    /// (at least this many contribution months, factor in basis points), ascending.
    public let durationFactors: [(minimumMonths: Int, basisPoints: Int64)]
    /// Over how many months (the current one included) contribution frequency is judged.
    public let frequencyWindowMonths: Int
    /// (at least this many months of the window with a contribution, factor), ascending.
    public let frequencyFactors: [(minimumMonths: Int, basisPoints: Int64)]
}

/// A city of the Jiangsu-Anhui-Shandong-Henan border cooperation (苏皖鲁豫边界合作, §17).
public struct PartnerCity: Sendable, Codable, Equatable {
    public let code: String
    public let name: String
    public let province: String
}

public struct PolicyParameters: Sendable {
    // Validity (附则)
    public let schemeValidFrom: Parameter<BusinessDate>
    public let schemeValidUntil: Parameter<BusinessDate>

    // §1 who may join; working age (project decision under the 2024 retirement reform)
    public var minimumWorkingAgeYears: Schedule<Int>
    public var retirementReformStart: Schedule<YearMonth>
    public var retirementRules: Schedule<[RetirementGroup: RetirementRule]>

    // §2 minimum contribution = minimum wage x minimum ratio
    public var minimumWageFen: Schedule<[WageTier: Fen]>
    public var countyTier: Schedule<[String: WageTier]>
    public let countyNames: Parameter<[String: String]>
    public var minimumContributionRatioBasisPoints: Schedule<Int64>
    public var maximumContributionRatioBasisPoints: Schedule<Int64>
    /// The national bounds of any contribution ratio (5 %-12 %, basis points): both chosen ratios lie inside.
    public var contributionRatioRange: Schedule<ClosedRange<Int64>>
    public var quarterlyMultiple: Schedule<Int64>

    // §3 incentives
    public var openingSubsidy: Schedule<OpeningSubsidyTiers>
    /// The committee's annual subsidy rate as a dated schedule (thousandths of a percent): a
    /// grant uses the rate in force on its anniversary. `var`: a new rate is a new entry.
    public var annualSubsidyRates: Schedule<Int64>
    /// The range the scheme allows the committee (§3: 1 %-1.5 %), in thousandths of a percent.
    public var annualSubsidyRateRange: Schedule<ClosedRange<Int64>>
    public var lifetimeSubsidyCapFen: Schedule<Fen>
    public var graduateWindowYears: Schedule<Int>

    // §4-§7, §10 loans
    public var loanMinimumContributionMonths: Schedule<Int>
    public let cityCountyPrefix: Parameter<String>
    /// Lianyungang's administrative code; also the prefix of the account numbers we issue.
    public let cityCode: Parameter<String>
    public var housingTypeUpliftBasisPoints: Schedule<Int64>
    public var talentUpliftBasisPoints: Schedule<Int64>
    public var loanRates: Schedule<LoanRate>
    public var loanCeilingSingleFen: Schedule<Fen>
    public var loanCeilingCoupleFen: Schedule<Fen>
    public var loanToValueFirstHomeBasisPoints: Schedule<Int64>
    public var loanToValueSecondHomeBasisPoints: Schedule<Int64>
    public var repaymentCapacityBasisPoints: Schedule<Int64>
    public var maximumTermMonths: Schedule<Int>
    public var termPastRetirementYears: Schedule<Int>
    public var quotaRoundingFen: Schedule<Fen>
    public var linkage: Schedule<LinkageFormula>
    /// Terms up to this many months take the "up to 5 years" rate.
    public var shortTermMonths: Schedule<Int>
    /// Below this share of the pool's assets in cash, approvals wait for liquidity (§19).
    public var liquidityFloorBasisPoints: Schedule<Int64>

    // Deposit interest (equal rights, §4): a dated schedule, settled each year on one day
    /// `var`: a rate change is a new entry appended to a copy (the tests model one this way).
    public var depositInterestRates: Schedule<Int64>
    /// The day the interest year ends and interest is posted (结息日): 30 June.
    public var interestSettlementDay: Schedule<(month: Int, day: Int)>
    /// The days in an interest year for the daily-balance method (积数 x rate / 360).
    public var interestDayBasis: Schedule<Int64>

    // §9 tax
    public var taxCapMonths: Schedule<Int64>
    public var taxCapRatioBasisPoints: Schedule<Int64>
    public var taxCapWageMultiple: Schedule<Int64>
    public var cityAverageMonthlyWageFen: Schedule<Fen>

    // §12 social-insurance subsidy
    public var socialInsuranceShare: Schedule<(numerator: Int64, denominator: Int64)>
    /// The range the scheme allows (§12: 1/2-2/3 of the contributions paid).
    public var socialInsuranceShareRange: Schedule<(lowest: (numerator: Int64, denominator: Int64), highest: (numerator: Int64, denominator: Int64))>
    public var socialInsuranceMaxMonths: Schedule<Int>

    // §17 border-region cooperation
    public let borderPartners: Parameter<[PartnerCity]>
    /// Transfer-out data says whether this many months up to the paid-up month were all paid.
    public var transferContinuityMonths: Schedule<Int>
    /// A transfer the partner has not moved on for this many days ends (cancelled in 01, else failed).
    public var transferAnswerDays: Schedule<Int>
    /// A spouse's consent to count their balance in one loan application is valid this many days.
    public var spouseConsentDays: Schedule<Int>

    /// A payout the channel has not confirmed after this many days is marked unconfirmed for staff.
    public var payoutConfirmationDays: Schedule<Int>

    // §8 rent
    public var rentMonthlyCapFen: Schedule<Fen>
    /// The longest rent withdrawal or direct-payment plan, in months.
    public var rentMaxMonths: Schedule<Int>
    /// Day of the month from which a rent plan's month is paid to the landlord or agency.
    public var rentPaymentDay: Schedule<Int>

    // §13 overdue loans
    public var overdueAfterDays: Schedule<Int>
    public var badCreditConsecutiveOverdue: Schedule<Int>
    public var badCreditCumulativeOverdue: Schedule<Int>
    /// A bad-credit record from our own overdue loan stops blocking this many years after its
    /// arrears were cleared.
    public var badCreditRetentionYears: Schedule<Int>
}

public extension PolicyParameters {
    /// The day the scheme takes effect: the date from which a value it prints or we decide applies.
    private static let schemeStart = BusinessDate("2025-06-09")!
    /// The 2024 retirement reform is in force from 2025-01-01.
    private static let retirementReform = BusinessDate("2025-01-01")!
    /// 征信业管理条例 in force from 2013-03-15.
    private static let creditRegulation = BusinessDate("2013-03-15")!

    /// The parameters of 连政办规〔2025〕3号 as the suite applies them.
    static let lianyungang2025 = PolicyParameters(
        schemeValidFrom: .init(BusinessDate("2025-06-09")!, .seed, "scheme 附则"),
        schemeValidUntil: .init(BusinessDate("2027-12-31")!, .seed, "scheme 附则"),

        minimumWorkingAgeYears: .init(from: schemeStart, 16, .decision, "legal working age (Labour Law art. 15); POLICY.md decisions"),
        retirementReformStart: .init(
            from: retirementReform, YearMonth(year: 2025, month: 1), .sourced, "NPC Standing Committee decision 2024-09-13, in force 2025-01-01"),
        retirementRules: .init(
            from: retirementReform,
            [
                .man: RetirementRule(originalAgeYears: 60, monthsPerStep: 4, maximumDelayMonths: 36),
                .womanOriginal55: RetirementRule(originalAgeYears: 55, monthsPerStep: 4, maximumDelayMonths: 36),
                .womanOriginal50: RetirementRule(originalAgeYears: 50, monthsPerStep: 2, maximumDelayMonths: 60),
            ], .sourced, "2024 retirement reform, annex tables; POLICY.md decisions"),

        minimumWageFen: Schedule([
            .init(
                from: BusinessDate("2024-01-01")!, [.i: .yuan(2_490), .ii: .yuan(2_260), .iii: .yuan(2_010)], .sourced,
                "Jiangsu minimum wage since 2024-01-01 (Xinhua, 2024-01-16)")
        ]),
        countyTier: .init(
            from: schemeStart,
            [
                "320706": .ii, "320703": .ii, "320707": .ii,
                "320722": .iii, "320723": .iii, "320724": .iii,
            ], .placeholder, "only a 2017 tier list found; POLICY.md"),
        countyNames: .init(
            [
                "320706": "Haizhou 海州区", "320703": "Lianyun 连云区", "320707": "Ganyu 赣榆区",
                "320722": "Donghai 东海县", "320723": "Guanyun 灌云县", "320724": "Guannan 灌南县",
            ], .sourced, "GB/T 2260 county codes"),
        minimumContributionRatioBasisPoints: .init(from: schemeStart, 500, .placeholder, "national minimum 5 %; Lianyungang value not published"),
        maximumContributionRatioBasisPoints: .init(from: schemeStart, 1_200, .placeholder, "national maximum 12 %"),
        contributionRatioRange: .init(from: schemeStart, 500...1_200, .sourced, "national rule: contribution ratios from 5 % to 12 % (建金〔2005〕5号)"),
        quarterlyMultiple: .init(from: schemeStart, 3, .decision, "minimum applies per payment; quarterly = 3 months"),

        openingSubsidy: .init(
            from: schemeStart, OpeningSubsidyTiers(base: .yuan(200), childrenThreshold: 2, twoOrMoreChildren: .yuan(300), recentGraduate: .yuan(400)), .seed,
            "scheme §3"),
        annualSubsidyRates: Schedule([
            .init(
                from: BusinessDate("2025-06-09")!, 1_000, .placeholder,
                "scheme §3 range 1 %-1.5 %; committee rate not published: the lowest from the scheme's start")
        ]),
        annualSubsidyRateRange: .init(from: schemeStart, 1_000...1_500, .seed, "scheme §3"),
        lifetimeSubsidyCapFen: .init(from: schemeStart, .yuan(10_000), .seed, "scheme §3"),
        graduateWindowYears: .init(from: schemeStart, 2, .seed, "scheme §3, §10, §11, §12"),

        loanMinimumContributionMonths: .init(from: schemeStart, 6, .seed, "scheme §4"),
        cityCountyPrefix: .init("3207", .seed, "scheme §4: home inside Lianyungang"),
        cityCode: .init("320700", .sourced, "GB/T 2260 code of Lianyungang"),
        housingTypeUpliftBasisPoints: .init(from: schemeStart, 2_000, .seed, "scheme §7"),
        talentUpliftBasisPoints: .init(from: schemeStart, 5_000, .seed, "scheme §10"),
        loanRates: Schedule([
            .init(
                from: BusinessDate("2024-05-18")!,
                LoanRate(
                    firstHomeUpTo5Years: 2_350, firstHomeOver5Years: 2_850,
                    secondHomeUpTo5Years: 2_775, secondHomeOver5Years: 3_325),
                .sourced, "PBoC HPF rate cut of 2024-05-18"),
            .init(
                from: BusinessDate("2025-05-08")!,
                LoanRate(
                    firstHomeUpTo5Years: 2_100, firstHomeOver5Years: 2_600,
                    secondHomeUpTo5Years: 2_525, secondHomeOver5Years: 3_075),
                .sourced, "PBoC HPF rate cut of 2025-05-08"),
        ]),
        loanCeilingSingleFen: .init(from: schemeStart, .yuan(500_000), .placeholder, "comparable border-region city"),
        loanCeilingCoupleFen: .init(from: schemeStart, .yuan(800_000), .placeholder, "comparable border-region city"),
        loanToValueFirstHomeBasisPoints: .init(from: schemeStart, 8_000, .placeholder, "comparable border-region city"),
        loanToValueSecondHomeBasisPoints: .init(from: schemeStart, 7_000, .placeholder, "comparable border-region city"),
        repaymentCapacityBasisPoints: .init(from: schemeStart, 5_000, .placeholder, "payment <= 50 % of income net of debts"),
        maximumTermMonths: .init(from: schemeStart, 360, .placeholder, "comparable border-region city"),
        termPastRetirementYears: .init(from: schemeStart, 5, .placeholder, "comparable border-region city"),
        quotaRoundingFen: .init(from: schemeStart, .yuan(1_000), .decision, "quotas round down to 1,000 yuan"),
        linkage: .init(
            from: schemeStart,
            LinkageFormula(
                balanceMultiple: 15, contributionMultipleBasisPoints: 15_000, divisor: 2,
                durationFactors: [(0, 8_000), (12, 9_000), (24, 10_000), (60, 11_000)],
                frequencyWindowMonths: 12, frequencyFactors: [(0, 8_000), (6, 9_000), (10, 10_000)]),
            .placeholder, "POLICY.md: modelled on a border-region city's published formula; factors our guess"),
        shortTermMonths: .init(from: schemeStart, 60, .sourced, "PBoC HPF rate table: up to 5 years / over 5 years"),
        liquidityFloorBasisPoints: .init(from: schemeStart, 1_000, .placeholder, "§19 watch liquidity; threshold not published (10 % of the pool)"),

        depositInterestRates: Schedule([
            .init(from: BusinessDate("2016-02-21")!, 1_500, .sourced, "PBoC: HPF deposits earn 1.50 % a year from 2016-02-21 (one rate whatever the term)")
        ]),
        interestSettlementDay: .init(
            from: schemeStart, (6, 30), .sourced, "HPF interest year 1 July - 30 June, settled on 30 June (住房公积金管理条例; national practice)"),

        interestDayBasis: .init(
            from: BusinessDate("2016-02-21")!, 360, .sourced, "HPF interest: daily balances (积数) x annual rate / 360 (POLICY.md decisions, deposit interest)"),

        taxCapMonths: .init(from: schemeStart, 12, .sourced, "财税〔2006〕10号"),
        taxCapRatioBasisPoints: .init(from: schemeStart, 1_200, .sourced, "财税〔2006〕10号"),
        taxCapWageMultiple: .init(from: schemeStart, 3, .sourced, "财税〔2006〕10号"),
        cityAverageMonthlyWageFen: Schedule([
            .init(
                from: BusinessDate("2025-01-01")!, .yuan(7_000), .placeholder,
                "the city's previous-year average monthly wage, not found; an entry per tax year (from 1 January)")
        ]),

        socialInsuranceShare: .init(from: schemeStart, (1, 2), .placeholder, "scheme §12 range 1/2-2/3; choice not published"),
        socialInsuranceShareRange: .init(from: schemeStart, ((1, 2), (2, 3)), .seed, "scheme §12"),
        socialInsuranceMaxMonths: .init(from: schemeStart, 24, .seed, "scheme §12"),

        borderPartners: .init(
            [
                PartnerCity(code: "320300", name: "Xuzhou 徐州", province: "Jiangsu"),
                PartnerCity(code: "320700", name: "Lianyungang 连云港", province: "Jiangsu"),
                PartnerCity(code: "321300", name: "Suqian 宿迁", province: "Jiangsu"),
                PartnerCity(code: "341300", name: "Suzhou 宿州", province: "Anhui"),
                PartnerCity(code: "340600", name: "Huaibei 淮北", province: "Anhui"),
                PartnerCity(code: "370800", name: "Jining 济宁", province: "Shandong"),
                PartnerCity(code: "370400", name: "Zaozhuang 枣庄", province: "Shandong"),
                PartnerCity(code: "371300", name: "Linyi 临沂", province: "Shandong"),
                PartnerCity(code: "371700", name: "Heze 菏泽", province: "Shandong"),
                PartnerCity(code: "411400", name: "Shangqiu 商丘", province: "Henan"),
            ], .sourced, "POLICY.md border-region partner list (medium confidence)"),
        transferContinuityMonths: .init(from: schemeStart, 6, .sourced, "POLICY.md §17 transfer flow: whether the last 6 months were continuous"),
        transferAnswerDays: .init(from: schemeStart, 30, .decision, "not published; a partner that has not answered in 30 days is taken not to"),
        spouseConsentDays: .init(
            from: schemeStart, 30, .decision, "not published; a spouse's consent (§5 linkage of the couple's balances) is for one application within 30 days"),

        payoutConfirmationDays: .init(
            from: schemeStart, 3, .decision, "not published: channels confirm within a business day; after 3 days staff chase the channel (never paid again)"),

        rentMonthlyCapFen: .init(from: schemeStart, .yuan(1_500), .placeholder, "not published; configurable"),
        rentMaxMonths: .init(from: schemeStart, 12, .decision, "not published; one year of rent per withdrawal or plan"),
        rentPaymentDay: .init(from: schemeStart, 1, .decision, "not published; rent is paid from the first day of each month"),

        overdueAfterDays: .init(from: schemeStart, 30, .decision, "POLICY.md decisions"),
        badCreditConsecutiveOverdue: .init(from: schemeStart, 3, .decision, "POLICY.md decisions"),
        badCreditCumulativeOverdue: .init(from: schemeStart, 6, .decision, "POLICY.md decisions"),
        badCreditRetentionYears: .init(
            from: creditRegulation, 5, .sourced, "征信业管理条例 art. 16: adverse records are kept 5 years from the end of the conduct; POLICY.md decisions")
    )
}
