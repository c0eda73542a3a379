/// Why money leaves an account (提取原因), §4, §8, §16.
public enum WithdrawalReason: String, Codable, Sendable, CaseIterable {
    case purchase  // 购买自住住房
    case selfBuild = "self_build"  // 农村自建住房 (§16, rural residents)
    case repayment  // 偿还住房贷款 (HPF or commercial)
    case rent  // 租房
    case closure  // 销户提取: the whole balance, the account closes
}

/// Why an account is closed (销户原因).
public enum ClosureReason: String, Codable, Sendable, CaseIterable {
    case retirement  // 退休
    case leavingCity = "leaving_city"  // 离开本市
    case transfer  // 转移: handled by the regional-sync service, not by a withdrawal
    case death  // 死亡或宣告死亡: paid to the heir
}

/// What a withdrawal claims, as the rules see it: the amount and the facts its evidence states.
public struct WithdrawalClaim: Sendable {
    public var reason: WithdrawalReason
    /// Nil for a closure (the whole balance, known only to the ledger).
    public var amountFen: Fen?
    public var closureReason: ClosureReason?
    /// purchase: the house price; self_build: the building cost; repayment: the loan outstanding.
    public var ceilingFen: Fen?
    /// rent: the monthly rent and the months it covers.
    public var monthlyRentFen: Fen?
    public var rentMonths: Int?

    public init(
        reason: WithdrawalReason, amountFen: Fen?, closureReason: ClosureReason? = nil, ceilingFen: Fen? = nil,
        monthlyRentFen: Fen? = nil, rentMonths: Int? = nil
    ) {
        self.reason = reason
        self.amountFen = amountFen
        self.closureReason = closureReason
        self.ceilingFen = ceilingFen
        self.monthlyRentFen = monthlyRentFen
        self.rentMonths = rentMonths
    }
}

/// The account holder's facts a withdrawal rule needs.
public struct WithdrawerFacts: Sendable {
    public var rural: Bool
    public var retirementMonth: YearMonth
    /// What other withdrawals (not rejected) already took against the same purchase contract,
    /// building permit or loan contract.
    public var alreadyWithdrawnOnEvidenceFen: Fen

    public init(rural: Bool, retirementMonth: YearMonth, alreadyWithdrawnOnEvidenceFen: Fen = 0) {
        self.rural = rural
        self.retirementMonth = retirementMonth
        self.alreadyWithdrawnOnEvidenceFen = alreadyWithdrawnOnEvidenceFen
    }
}

public struct WithdrawalRefusal: Error, Sendable, Equatable {
    public let code: String
    public let detail: String
    public init(_ code: String, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The claim's figures add up beyond any amount (`Checked`).
    static let overflow = WithdrawalRefusal(AmountOverflow.code, "the amounts of this claim add up beyond any amount")
}

/// The rules a withdrawal must pass before the ledger is asked to debit it. The balance is not
/// checked here: the ledger owns it and refuses an overdraft (`insufficient_balance`) itself.
/// §4 lets participants withdraw freely before a loan application: nothing here depends on loans.
public enum WithdrawalRules {
    public static func refusal(
        for claim: WithdrawalClaim, facts: WithdrawerFacts, today: BusinessDate,
        parameters: PolicyParameters
    ) -> WithdrawalRefusal? {
        switch claim.reason {
        case .purchase:
            // §4 购房提取: together with what others took on the same contract (a couple buying
            // together), no more than the house price.
            guard let amount = claim.amountFen, let price = claim.ceilingFen else { return nil }
            guard let total = try? Checked.add(amount, facts.alreadyWithdrawnOnEvidenceFen) else { return .overflow }
            if total > price {
                return WithdrawalRefusal(
                    "exceeds_house_price",
                    "\(amount) fen plus \(facts.alreadyWithdrawnOnEvidenceFen) already withdrawn exceeds the price \(price) fen")
            }
        case .selfBuild:
            // §16: rural residents may withdraw to build their own home, up to its cost.
            guard facts.rural else { return WithdrawalRefusal("not_rural_resident", "self-build withdrawals are for rural residents (§16)") }
            guard let amount = claim.amountFen, let cost = claim.ceilingFen else { return nil }
            guard let total = try? Checked.add(amount, facts.alreadyWithdrawnOnEvidenceFen) else { return .overflow }
            if total > cost {
                return WithdrawalRefusal("exceeds_build_cost", "\(amount) fen exceeds the building cost \(cost) fen")
            }
        case .repayment:
            // §4 偿还贷款提取 (POLICY.md "Repayment withdrawals"): together with what other
            // withdrawals took on the same loan contract, no more than its outstanding amount.
            guard let amount = claim.amountFen, let outstanding = claim.ceilingFen else { return nil }
            guard let total = try? Checked.add(amount, facts.alreadyWithdrawnOnEvidenceFen) else { return .overflow }
            if total > outstanding {
                return WithdrawalRefusal(
                    "exceeds_outstanding_loan",
                    "\(amount) fen plus \(facts.alreadyWithdrawnOnEvidenceFen) already withdrawn on this loan exceeds the outstanding \(outstanding) fen")
            }
        case .rent:
            guard let amount = claim.amountFen, let rent = claim.monthlyRentFen, let months = claim.rentMonths else { return nil }
            if let refusal = rentRefusal(monthlyFen: nil, monthlyRentFen: rent, months: months, on: today, parameters: parameters) { return refusal }
            let allowed = rentAllowance(monthlyRentFen: rent, months: months, on: today, parameters: parameters)
            if amount > allowed {
                let cap = parameters.rentMonthlyCapFen.value(on: today)
                return WithdrawalRefusal(
                    cap < rent ? "exceeds_rent_cap" : "exceeds_rent",
                    "at most \(allowed) fen for \(months) month(s) (§8 monthly cap \(cap) fen)")
            }
        case .closure:
            switch claim.closureReason {
            case .transfer?:
                return WithdrawalRefusal("use_regional_transfer", "a transfer to a partner city goes through regional-sync, not a withdrawal")
            case .retirement?:
                if today.yearMonth < facts.retirementMonth {
                    return WithdrawalRefusal("not_yet_retired", "retirement month is \(facts.retirementMonth)")
                }
            case .leavingCity?, .death?, nil:
                break
            }
        }
        return nil
    }

    /// §8: what a rent withdrawal may take for `months` months: the lower of the rent and the
    /// monthly cap in force on the request's day, times the months.
    public static func rentAllowance(monthlyRentFen: Fen, months: Int, on date: BusinessDate, parameters: PolicyParameters) -> Fen {
        min(monthlyRentFen, parameters.rentMonthlyCapFen.value(on: date)) * Fen(months)
    }

    /// §8 checks shared by one-off rent withdrawals and direct-payment plans: the months within
    /// the limit and, for a plan, the monthly payment within the rent and the cap (as in force on
    /// the request's day).
    public static func rentRefusal(
        monthlyFen: Fen?, monthlyRentFen: Fen, months: Int, on date: BusinessDate,
        parameters: PolicyParameters
    ) -> WithdrawalRefusal? {
        let maxMonths = parameters.rentMaxMonths.value(on: date)
        if months < 1 || months > maxMonths { return WithdrawalRefusal("rent_months_out_of_range", "1 to \(maxMonths) months") }
        guard let monthly = monthlyFen else { return nil }
        let cap = parameters.rentMonthlyCapFen.value(on: date)
        if monthly > cap {
            return WithdrawalRefusal("exceeds_rent_cap", "the monthly payment may be at most \(cap) fen (§8)")
        }
        if monthly > monthlyRentFen { return WithdrawalRefusal("exceeds_rent", "the monthly payment exceeds the rent \(monthlyRentFen) fen") }
        return nil
    }

    /// §8 across requests (POLICY.md "Rent"): how a rent withdrawal of `amountFen` for `months`
    /// months spreads over the consecutive calendar months from `first`: equal shares, the fen
    /// that do not divide going to the earliest months (so the shares add up exactly).
    public static func rentShares(amountFen: Fen, months: Int, from first: YearMonth) -> [(month: YearMonth, fen: Fen)] {
        guard months > 0, amountFen >= 0 else { return [] }
        let (share, rest) = amountFen.quotientAndRemainder(dividingBy: Fen(months))
        return (0..<months).map { (first.adding(months: $0), share + (Fen($0) < rest ? 1 : 0)) }
    }

    /// §8 across requests (POLICY.md "Rent"): for each calendar month, everything paid for rent
    /// from one account (one-off withdrawals and plan payments, whatever the lease) is at most
    /// min(monthly rent, monthly cap), the cap being the one in force on the month's first day.
    /// `used` is what earlier requests already hold per month; the refusal names every month that
    /// would go over, with its limit and what it already holds.
    public static func rentMonthsRefusal(
        shares: [(month: YearMonth, fen: Fen)], used: [YearMonth: Fen], monthlyRentFen: Fen,
        parameters: PolicyParameters
    ) -> WithdrawalRefusal? {
        var over: [String] = []
        for (month, fen) in shares {
            let limit = min(monthlyRentFen, parameters.rentMonthlyCapFen.value(onFirstDayOf: month))
            let already = used[month] ?? 0
            guard let total = try? Checked.add(already, fen) else { return .overflow }
            if total > limit { over.append("\(month): \(already) fen already used of \(limit) fen") }
        }
        guard !over.isEmpty else { return nil }
        return WithdrawalRefusal(
            "exceeds_monthly_rent_limit",
            "rent from this account may be at most min(rent, monthly cap) a month (§8); \(over.joined(separator: "; "))")
    }

    /// The latest month of a rent plan that may be paid on `asOf`: a month is due from its
    /// payment day (§8 direct payment, monthly).
    public static func lastDueRentMonth(asOf: BusinessDate, parameters: PolicyParameters) -> YearMonth {
        asOf.day >= min(parameters.rentPaymentDay.value(on: asOf), 28) ? asOf.yearMonth : asOf.yearMonth.adding(months: -1)
    }
}
