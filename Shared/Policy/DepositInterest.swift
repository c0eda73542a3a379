/// Deposit interest on HPF balances (equal rights with employees, §4; POLICY.md decisions
/// "Deposit interest"). The daily-balance (积数) method: interest for a period = the sum of the
/// end-of-day balances x annual rate / 360, rounded half-up to the fen once per settlement. The
/// interest year ends on the settlement day (30 June), when interest is posted and from then on
/// earns interest itself; a closure, a transfer out or a withdrawal of the whole balance settles
/// up to the day before first. Interest is not a subsidy lot (§3 decisions).
public enum DepositInterest {
    /// Rates are in thousandths of a percent: 1 = 0.001 % = 1 / 100,000.
    static let rateUnitsPerOne = RateUnit.perOne

    /// Σ balance x days x rate over the days `from` ..< `to`, each day at the rate of the schedule
    /// entry in force on it; nothing when `to` is not after `from`. Interest = this / (day basis x 100,000).
    public static func accrual(
        balance: Fen, from: BusinessDate, to: BusinessDate,
        parameters p: PolicyParameters
    ) throws(AmountOverflow) -> Int64 {
        guard from < to, balance != 0 else { return 0 }
        let spans = p.depositInterestRates.changes(from: from, to: to)
        var total: Int64 = 0
        for (index, span) in spans.enumerated() {
            let end = index + 1 < spans.count ? spans[index + 1].from : to
            let balanceDays = try Checked.multiply(balance, Int64(span.from.days(until: end)))
            total = try Checked.add(total, try Checked.multiply(balanceDays, span.value))
        }
        return total
    }

    /// The interest of an accrued sum, half-up to the fen; never negative. The year counts the
    /// days of the basis in force on `date`, the period's last day (the banks' and HPF centres' 360).
    public static func interest(accrued: Int64, on date: BusinessDate, parameters p: PolicyParameters) -> Fen {
        max(0, Rounding.halfUp(accrued, max(1, p.interestDayBasis.value(on: date)) * rateUnitsPerOne))
    }

    /// The settlement day (30 June) that ends the interest year containing `date`.
    public static func settlementDay(endingYearOf date: BusinessDate, parameters p: PolicyParameters) -> BusinessDate {
        let thisYear = settlementDay(in: date.year, parameters: p)
        return date <= thisYear ? thisYear : settlementDay(in: date.year + 1, parameters: p)
    }

    /// The latest settlement day before `date`: accounts whose period began on or before it are due.
    public static func lastSettlementDay(before date: BusinessDate, parameters p: PolicyParameters) -> BusinessDate {
        let thisYear = settlementDay(in: date.year, parameters: p)
        return thisYear < date ? thisYear : settlementDay(in: date.year - 1, parameters: p)
    }

    /// The settlement day in `year`, clipped to the month's end (a 29 February setting is the
    /// 28th in a common year), so no setting can make a date that does not exist.
    static func settlementDay(in year: Int, parameters p: PolicyParameters) -> BusinessDate {
        let (month, day) = p.interestSettlementDay.value(onFirstDayOf: YearMonth(year: year, month: 1))
        let m = min(max(month, 1), 12)
        return BusinessDate(year: year, month: m, day: min(max(day, 1), BusinessDate.daysIn(year: year, month: m)))!
    }
}

/// One account's running 积数 between settlements. Postings change it in O(1): the balance held
/// since `balanceSince` is folded into `accrued` when it changes, so a settlement never reads
/// the year's postings (a million accounts settle in one pass over the accounts).
public struct InterestAccrual: Sendable, Equatable {
    /// The first day of the open interest period.
    public var periodFrom: BusinessDate
    /// Days before this are in `accrued`; the balance has been what it is since this day.
    public var balanceSince: BusinessDate
    /// Σ balance x days x rate (0.001 %) over the period's days before `balanceSince`.
    public var accrued: Int64

    public init(periodFrom: BusinessDate, balanceSince: BusinessDate, accrued: Int64) {
        self.periodFrom = periodFrom
        self.balanceSince = balanceSince
        self.accrued = accrued
    }

    /// A new account: nothing accrued, interest counted from its opening day.
    public init(openedOn: BusinessDate) { self.init(periodFrom: openedOn, balanceSince: openedOn, accrued: 0) }

    /// A posting of `amount` on `date` that moves the balance from `balanceBefore`. The posting
    /// changes the balance at the end of `date`, so the old balance held every day before it. A
    /// posting dated before `balanceSince` (a payment reported late) counts from its own date,
    /// never before the account's opening; days it adds to an interest year already settled are
    /// paid in the open one (banks' back-valued 积数 adjustment), so no day is lost.
    public mutating func post(
        amount: Fen, balanceBefore: Fen, on date: BusinessDate, openedOn: BusinessDate,
        parameters p: PolicyParameters
    ) throws(AmountOverflow) {
        if date >= balanceSince {
            accrued = try Checked.add(accrued, try DepositInterest.accrual(balance: balanceBefore, from: balanceSince, to: date, parameters: p))
            balanceSince = date
        } else {
            let from = max(date, openedOn)
            accrued = try Checked.add(accrued, try DepositInterest.accrual(balance: amount, from: from, to: balanceSince, parameters: p))
        }
    }

    /// Settles the period through `lastDay` (inclusive) on `balance`: returns the interest and
    /// opens the next period on the day after.
    public mutating func settle(balance: Fen, through lastDay: BusinessDate, parameters p: PolicyParameters) throws(AmountOverflow) -> Fen {
        // Never back before the open period (a business clock set back, in a test, must not reopen a settled year).
        let next = max(lastDay.adding(days: 1), periodFrom)
        let total = try Checked.add(accrued, try DepositInterest.accrual(balance: balance, from: balanceSince, to: next, parameters: p))
        periodFrom = next
        balanceSince = max(balanceSince, next)
        accrued = 0
        return DepositInterest.interest(accrued: total, on: lastDay, parameters: p)
    }

    /// The interest accrued so far and not yet settled, as of the end of `date` (for the balance view).
    public func accruedInterest(balance: Fen, asOf date: BusinessDate, parameters p: PolicyParameters) throws(AmountOverflow) -> Fen {
        let through = try Checked.add(accrued, try DepositInterest.accrual(balance: balance, from: balanceSince, to: date.adding(days: 1), parameters: p))
        return DepositInterest.interest(accrued: through, on: date, parameters: p)
    }

    /// The annual settlement days this period has not had that are over before `date`, oldest
    /// first: 30 June is settled once the day is over (its last postings count), from 1 July.
    public func dueSettlements(before date: BusinessDate, parameters p: PolicyParameters) -> [BusinessDate] {
        var due: [BusinessDate] = []
        var day = DepositInterest.settlementDay(endingYearOf: periodFrom, parameters: p)
        while day < date {
            due.append(day)
            day = DepositInterest.settlementDay(endingYearOf: day.adding(days: 1), parameters: p)
        }
        return due
    }
}
