import Policy
import Testing

/// POLICY.md decisions "Deposit interest": the daily-balance (积数) method at 1.5 % / 360,
/// half-up to the fen once per settlement, each 30 June. The expected figures are worked by hand
/// in the comments, not by the code under test.
@Suite("Deposit interest (积数 method)")
struct DepositInterestTests {
    static let june30 = BusinessDate("2026-06-30")!
    let p = PolicyParameters.lianyungang2025
    func date(_ text: String) -> BusinessDate { BusinessDate(text)! }

    @Test("POLICY.md worked example: 10,000.00 held 2025-07-01 to 2026-06-30 earns 152.08")
    func workedExample() throws {
        var accrual = InterestAccrual(openedOn: date("2025-07-01"))
        try accrual.post(amount: 1_000_000, balanceBefore: 0, on: date("2025-07-01"), openedOn: date("2025-07-01"), parameters: p)
        // 10,000 x 365 x 0.015 / 360 = 152.0833 -> 152.08
        #expect(try accrual.settle(balance: 1_000_000, through: date("2026-06-30"), parameters: p) == 15_208)
        #expect(accrual.periodFrom == date("2026-07-01") && accrual.accrued == 0)
    }

    @Test("a deposit, a subsidy and a withdrawal inside one interest year, then a closure over 30 June")
    func handComputedYear() throws {
        let opened = date("2025-07-01")
        var accrual = InterestAccrual(openedOn: opened)
        var balance: Fen = 0
        for (amount, day) in [(1_000_000 as Fen, "2025-07-01"), (20_000, "2025-09-01"), (-300_000, "2026-01-10")] {
            try accrual.post(amount: amount, balanceBefore: balance, on: date(day), openedOn: opened, parameters: p)
            balance += amount
        }
        // 1,000,000 x 62 days (07-01..08-31) + 1,020,000 x 131 (09-01..01-09) + 720,000 x 172 (01-10..06-30)
        // = 319,460,000 fen-days; x 0.015 / 360 = 13,310.83 -> 13,311 fen (133.11 yuan).
        #expect(accrual.dueSettlements(before: date("2026-06-30"), parameters: p).isEmpty, "30 June settles once the day is over")
        #expect(accrual.dueSettlements(before: date("2026-07-01"), parameters: p) == [date("2026-06-30")])
        let year = try accrual.settle(balance: balance, through: date("2026-06-30"), parameters: p)
        #expect(year == 13_311)
        balance += year
        // The interest earns interest: 733,311 x 45 days (07-01..08-14) = 32,998,995; / 24,000 = 1,374.96 -> 1,375.
        // A closure on 08-15 settles up to the day before.
        let closure = try accrual.settle(balance: balance, through: date("2026-08-14"), parameters: p)
        #expect(closure == 1_375)
        #expect(accrual.periodFrom == date("2026-08-15"))
    }

    @Test("a payment reported late counts from its own date; one dated before the opening counts from the opening")
    func backValued() throws {
        let opened = date("2025-07-01")
        var accrual = InterestAccrual(openedOn: opened)
        try accrual.post(amount: 100_000, balanceBefore: 0, on: date("2025-08-01"), openedOn: opened, parameters: p)
        // Reported after the 08-01 posting, dated 07-11: 100,000 more for 07-11..07-31 (21 days).
        try accrual.post(amount: 100_000, balanceBefore: 100_000, on: date("2025-07-11"), openedOn: opened, parameters: p)
        #expect(accrual.accrued == 100_000 * 21 * 1_500)
        // Dated before the opening: counted from the opening (07-01..07-31, 31 days), never before.
        try accrual.post(amount: 50_000, balanceBefore: 200_000, on: date("2025-06-01"), openedOn: opened, parameters: p)
        #expect(accrual.accrued == (100_000 * 21 + 50_000 * 31) * 1_500)
        #expect(accrual.balanceSince == date("2025-08-01"))
    }

    @Test("a rate change inside the year: each day at the rate in force on it")
    func rateChange() throws {
        var changed = p
        changed.depositInterestRates = p.depositInterestRates.adding(
            .init(from: date("2026-01-01"), 1_200, .placeholder, "a hypothetical cut to 1.2 % on 2026-01-01"))
        // 1,000,000 for 184 days (07-01..12-31) at 1.5 % and 181 days (01-01..06-30) at 1.2 %:
        // (184 x 1.5 + 181 x 1.2) x 1,000,000 / 100 / 360 = (276 + 217.2) x 10,000 / 360 = 13,700 fen.
        let accrued = try DepositInterest.accrual(balance: 1_000_000, from: date("2025-07-01"), to: date("2026-07-01"), parameters: changed)
        #expect(DepositInterest.interest(accrued: accrued, on: Self.june30, parameters: .lianyungang2025) == 13_700)
    }

    @Test("rounding is half-up once per settlement, and an empty or reversed period earns nothing")
    func rounding() throws {
        // 1 fen-day x 1,500 = 1,500; / 36,000,000: 0. 12,000 fen-days at 1.5 % = 0.5 fen -> 1.
        #expect(DepositInterest.interest(accrued: 12_000 * 1_500, on: Self.june30, parameters: .lianyungang2025) == 1)
        #expect(DepositInterest.interest(accrued: 11_999 * 1_500, on: Self.june30, parameters: .lianyungang2025) == 0)
        #expect(DepositInterest.interest(accrued: -5_000_000, on: Self.june30, parameters: .lianyungang2025) == 0)
        #expect(try DepositInterest.accrual(balance: 1_000, from: date("2026-01-02"), to: date("2026-01-01"), parameters: p) == 0)
        #expect(throws: AmountOverflow.self) {
            try DepositInterest.accrual(balance: .max / 2, from: date("2025-07-01"), to: date("2026-07-01"), parameters: p)
        }
    }

    @Test("an account idle for years settles each year in turn, so each year's interest earns the next")
    func catchUp() throws {
        var accrual = InterestAccrual(openedOn: date("2024-07-01"))
        try accrual.post(amount: 1_000_000, balanceBefore: 0, on: date("2024-07-01"), openedOn: date("2024-07-01"), parameters: p)
        #expect(accrual.dueSettlements(before: date("2026-07-01"), parameters: p) == [date("2025-06-30"), date("2026-06-30")])
        // 2024-07-01..2025-06-30 is 365 days: 15,208 fen; then 1,015,208 x 365 = 370,550,920; / 24,000 = 15,439.62 -> 15,440.
        let first = try accrual.settle(balance: 1_000_000, through: date("2025-06-30"), parameters: p)
        let second = try accrual.settle(balance: 1_000_000 + first, through: date("2026-06-30"), parameters: p)
        #expect(first == 15_208 && second == 15_440)
    }

    @Test("day numbers: leap years and month ends")
    func dayCounts() {
        #expect(date("2024-02-28").days(until: date("2024-03-01")) == 2)
        #expect(date("2025-07-01").days(until: date("2026-07-01")) == 365)
        #expect(date("2023-07-01").days(until: date("2024-07-01")) == 366)
        #expect(date("1970-01-01").dayNumber == 0)
    }

    @Test("a day number gives back its date, every day from 1800 to 9999; nothing outside")
    func dayNumbersRoundTrip() throws {
        var day = try #require(BusinessDate("1800-01-01"))
        let last = try #require(BusinessDate("9999-12-31"))
        var (count, wrong): (Int, [String]) = (0, [])
        // Walks the whole range by `adding(days:)`, the independent calendar arithmetic.
        while true {
            let number = day.dayNumber
            if BusinessDate(dayNumber: number) != day, wrong.count < 5 { wrong.append("\(day) -> \(number)") }
            if day == last { break }
            day = day.adding(days: 1)
            if day.dayNumber != number + 1, wrong.count < 5 { wrong.append("\(day) after \(number)") }
            count += 1
        }
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(count == last.dayNumber - date("1800-01-01").dayNumber)
        #expect(BusinessDate(dayNumber: date("1800-01-01").dayNumber - 1) == nil)
        #expect(BusinessDate(dayNumber: last.dayNumber + 1) == nil)
        #expect(BusinessDate(dayNumber: Int.min) == nil && BusinessDate(dayNumber: Int.max) == nil)
        #expect(BusinessDate(dayNumber: date("2000-01-01").dayNumber) == date("2000-01-01"))
        #expect(BusinessDate(dayNumber: date("2024-02-29").dayNumber) == date("2024-02-29"))
    }

    @Test("months and dates read digits only: a sign or a short field is refused")
    func strictText() {
        #expect(YearMonth("+202-01") == nil && YearMonth("2025-1") == nil && YearMonth("2025--1") == nil && YearMonth("2025-13") == nil)
        #expect(YearMonth("2025-01") == YearMonth(year: 2025, month: 1))
        #expect(BusinessDate("+202-01-01") == nil)
    }
}
