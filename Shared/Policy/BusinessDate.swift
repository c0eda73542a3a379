import Foundation

/// A calendar date in Asia/Shanghai business time, `YYYY-MM-DD` on the wire.
/// Rules take dates, never clocks, so tests can pin every date.
public struct BusinessDate: Hashable, Comparable, Sendable, TextCodable {
    public let year: Int
    public let month: Int
    public let day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= BusinessDate.daysIn(year: year, month: month),
            (1800...9999).contains(year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD` strictly (no time, no offset).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        // Digits only: Int("+1") would read a sign.
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    public static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public var yearMonth: YearMonth { YearMonth(year: year, month: month) }

    /// The same day `years` later; 29 February becomes 28 February in a common year.
    public func adding(years: Int) -> BusinessDate {
        let y = year + years
        return BusinessDate(year: y, month: month, day: min(day, BusinessDate.daysIn(year: y, month: month)))!
    }

    /// The same day `months` later, clipped to the end of a shorter month.
    public func adding(months: Int) -> BusinessDate {
        let ym = yearMonth.adding(months: months)
        return BusinessDate(year: ym.year, month: ym.month, day: min(day, BusinessDate.daysIn(year: ym.year, month: ym.month)))!
    }

    /// The date `days` later (or earlier, when negative).
    public func adding(days: Int) -> BusinessDate {
        var remaining = days
        var (y, m, d) = (year, month, day)
        while remaining > 0 {
            let left = BusinessDate.daysIn(year: y, month: m) - d
            if remaining <= left {
                d += remaining; remaining = 0
            } else {
                remaining -= left + 1
                (y, m, d) = m == 12 ? (y + 1, 1, 1) : (y, m + 1, 1)
            }
        }
        while remaining < 0 {
            if -remaining < d {
                d += remaining; remaining = 0
            } else {
                remaining += d
                (y, m) = m == 1 ? (y - 1, 12) : (y, m - 1)
                d = BusinessDate.daysIn(year: y, month: m)
            }
        }
        return BusinessDate(year: y, month: m, day: d)!
    }

    /// Days since 1970-01-01 (the proleptic Gregorian day number): day counts without a calendar.
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `dayNumber` days after 1970-01-01 (the inverse of `dayNumber`); nil outside
    /// 1800-9999.
    public init?(dayNumber: Int) {
        // Only days within 1800-9999 are converted, so nothing below can overflow.
        guard (-62_091...2_932_896).contains(dayNumber) else { return nil }
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// Days from `self` to `other` (negative when `other` is earlier).
    public func days(until other: BusinessDate) -> Int { other.dayNumber - dayNumber }

    /// Whole years from `self` to `other` (an age, when `self` is a birth date).
    public func wholeYears(until other: BusinessDate) -> Int {
        var years = other.year - year
        if (other.month, other.day) < (month, day) { years -= 1 }
        return years
    }

    /// The business date of an instant in Asia/Shanghai (UTC+8, no daylight saving). Instants
    /// from outside are bounded when read (`Instant.parse`); one outside 1800-9999 all the same is
    /// held to the nearest end of that range, never a trap.
    public static func of(_ instant: Date) -> BusinessDate {
        // Since 1992 China has kept UTC+8 all year (its daylight saving ended in 1991): the day is
        // plain arithmetic. Every transaction reads today's date, and a calendar with the zone's
        // history costs tens of microseconds a time; older instants (legacy history) still use it.
        let seconds = instant.timeIntervalSince1970
        if seconds >= fixedOffsetSince, seconds < endOf9999,
            let date = BusinessDate(dayNumber: Int(((seconds + 28_800) / 86_400).rounded(.down)))
        {
            return date
        }
        let c = shanghai.dateComponents([.era, .year, .month, .day], from: instant)
        if let date = BusinessDate(year: c.year ?? 0, month: c.month ?? 0, day: c.day ?? 0), c.era != 0 { return date }
        return c.era != 0 && (c.year ?? 0) > 9999 ? BusinessDate(year: 9999, month: 12, day: 31)! : BusinessDate(year: 1800, month: 1, day: 1)!
    }

    /// 1992-01-01T00:00:00+08:00, from which Asia/Shanghai is UTC+8 without exception.
    static let fixedOffsetSince: TimeInterval = 694_195_200
    /// 10000-01-01T00:00:00Z: later instants are held to 9999-12-31 by the calendar's path.
    static let endOf9999: TimeInterval = 253_402_300_800
    /// The Gregorian calendar in Asia/Shanghai, with the zone's history (made once).
    static let shanghai: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600)!
        return calendar
    }()

    public var description: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }

    public static func < (a: BusinessDate, b: BusinessDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    public static let textFormat = "a date YYYY-MM-DD"
}

/// A calendar month, `YYYY-MM` on the wire.
public struct YearMonth: Hashable, Comparable, Sendable, TextCodable {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int) {
        let index = year * 12 + (month - 1)
        self.year = index / 12
        self.month = index % 12 + 1
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        // Digits only: Int("+202") would read a sign.
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }), let y = Int(parts[0]), let m = Int(parts[1]),
            (1...12).contains(m)
        else { return nil }
        self.init(year: y, month: m)
    }

    var index: Int { year * 12 + (month - 1) }
    public func adding(months: Int) -> YearMonth { YearMonth(year: 0, month: index + months + 1) }
    public func months(until other: YearMonth) -> Int { other.index - index }
    public var description: String { "\(pad(year, 4))-\(pad(month, 2))" }
    public static func < (a: YearMonth, b: YearMonth) -> Bool { a.index < b.index }

    public static let textFormat = "a month YYYY-MM"
}

/// A value that travels as its text form in JSON (dates and months).
public protocol TextCodable: Codable, CustomStringConvertible {
    init?(_ text: String)
    static var textFormat: String { get }
}

public extension TextCodable {
    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected \(Self.textFormat)"))
        }
        self = value
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Zero-padded decimal (String(format:) is slow on Linux, and dates are formatted in bulk).
func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
