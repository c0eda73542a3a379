import Policy

public enum EmploymentType: String, Codable, Sendable, CaseIterable {
    case individualBusiness = "individual_business"  // 个体经营
    case partTime = "part_time"  // 非全日制
    case newForm = "new_form"  // 新业态
}

public enum Residence: String, Codable, Sendable, CaseIterable { case urban, rural }

public enum EducationLevel: String, Codable, Sendable, CaseIterable {
    case belowBachelor = "below_bachelor", bachelor, master, doctorate
    public var isBachelorOrAbove: Bool { self != .belowBachelor }
}

public enum PaymentChannel: String, Codable, Sendable, CaseIterable {
    case wechat, alipay
    case bankCard = "bank_card"  // 银行卡授权自动扣划
}

/// §14-16 industries, with the e-commerce product lines named in §15.
public enum Industry: String, Codable, Sendable, CaseIterable {
    case livestock  // 畜牧养殖
    case wellnessTourism = "wellness_tourism"  // 康养文旅
    case ecommerceCrystal = "ecommerce_crystal"  // 水晶制品
    case ecommerceApparel = "ecommerce_apparel"  // 主题服饰
    case ecommercePressOnNails = "ecommerce_press_on_nails"  // 穿戴甲
    case ecommerceSeafood = "ecommerce_seafood"  // 海产品
    case ecommerceOther = "ecommerce_other"
    case agriculture
    case other
}

/// §15 roles in the live-stream e-commerce chain.
public enum Role: String, Codable, Sendable, CaseIterable {
    case streamer  // 网红主播
    case liveStreamOperations = "live_stream_operations"  // 直播运营
    case productSelection = "product_selection"  // 选品人员
    case logistics  // 物流人员
    case customerService = "customer_service"  // 客服
    case other
}

public struct Education: Codable, Sendable, Equatable {
    public var level: EducationLevel
    public var graduationDate: BusinessDate?
    public init(level: EducationLevel, graduationDate: BusinessDate?) {
        self.level = level
        self.graduationDate = graduationDate
    }
}

/// The agreement (缴存协议) of §2.
public struct Agreement: Codable, Sendable, Equatable {
    public var schedule: ContributionSchedule
    public var amountFen: Fen
    public var channel: PaymentChannel
    public init(schedule: ContributionSchedule, amountFen: Fen, channel: PaymentChannel) {
        self.schedule = schedule
        self.amountFen = amountFen
        self.channel = channel
    }
}

/// `hpf.enrolment.account-opened.v1`: the non-identifying profile other services need.
/// No name, phone or resident ID number; `personRef` is a keyed hash that stays the same
/// across re-enrolments of one person.
public struct AccountOpened: Codable, Sendable, Equatable {
    public var accountNumber: String
    public var personRef: String
    public var openedOn: BusinessDate
    public var county: String
    public var residence: Residence
    public var industry: Industry
    public var role: Role
    public var employmentType: EmploymentType
    public var childrenCount: Int
    public var education: Education
    public var retirementMonth: YearMonth
    public var agreement: Agreement
    public var monthlyMinimumFen: Fen
    /// §11: a veteran (退役军人); absent when not stated.
    public var veteran: Bool?
    /// The holder's own bank account for payouts to themselves, as a keyed hash (the number itself
    /// never travels on a topic); absent when none is registered.
    public var payoutAccountRef: String?

    public init(
        accountNumber: String, personRef: String, openedOn: BusinessDate, county: String, residence: Residence,
        industry: Industry, role: Role, employmentType: EmploymentType, childrenCount: Int, education: Education,
        retirementMonth: YearMonth, agreement: Agreement, monthlyMinimumFen: Fen, veteran: Bool? = nil,
        payoutAccountRef: String? = nil
    ) {
        self.veteran = veteran
        self.payoutAccountRef = payoutAccountRef
        self.accountNumber = accountNumber
        self.personRef = personRef
        self.openedOn = openedOn
        self.county = county
        self.residence = residence
        self.industry = industry
        self.role = role
        self.employmentType = employmentType
        self.childrenCount = childrenCount
        self.education = education
        self.retirementMonth = retirementMonth
        self.agreement = agreement
        self.monthlyMinimumFen = monthlyMinimumFen
    }
}

/// `hpf.enrolment.agreement-changed.v1`
public struct AgreementChanged: Codable, Sendable, Equatable {
    public var accountNumber: String
    public var agreement: Agreement
    public var changedOn: BusinessDate
    /// A newly registered payout bank account (keyed hash); absent when it did not change.
    public var payoutAccountRef: String?
    public init(accountNumber: String, agreement: Agreement, changedOn: BusinessDate, payoutAccountRef: String? = nil) {
        self.payoutAccountRef = payoutAccountRef
        self.accountNumber = accountNumber
        self.agreement = agreement
        self.changedOn = changedOn
    }
}

/// `hpf.enrolment.credit-record-added.v1`: the credit registry (§13) holds a bad-credit record for
/// a person (imported, or from an overdue loan). Consumers that refuse on bad credit (loans) keep
/// their own copy. Keyed by the person's account number when they have one, else by `personRef`.
public struct CreditRecordAdded: Codable, Sendable, Equatable {
    public var personRef: String
    public var accountNumber: String?
    public var source: String
    public var reference: String
    public var reason: String
    public var activeFrom: BusinessDate
    public var activeUntil: BusinessDate?

    public init(
        personRef: String, accountNumber: String?, source: String, reference: String, reason: String, activeFrom: BusinessDate,
        activeUntil: BusinessDate?
    ) {
        self.personRef = personRef
        self.accountNumber = accountNumber
        self.source = source
        self.reference = reference
        self.reason = reason
        self.activeFrom = activeFrom
        self.activeUntil = activeUntil
    }
}
