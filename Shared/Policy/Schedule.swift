/// A policy parameter as a dated schedule (every policy number is one: the HPF deposit rate, the
/// committee's annual subsidy rate, the loan rates, the minimum wage, the city's average wage, the
/// caps, the day counts): each value with the day it takes effect and its own status and source.
/// A rule asks for the value on the day its clause ties it to (a payment's day, a grant's anniversary, a loan's decision day), so a grant or
/// interest for a past period uses the value that applied then.
public struct Schedule<Value: Sendable>: Sendable {
    public struct Entry: Sendable {
        public let effectiveFrom: BusinessDate
        public let value: Value
        public let status: ParameterStatus
        public let source: String

        public init(from effectiveFrom: BusinessDate, _ value: Value, _ status: ParameterStatus, _ source: String) {
            self.effectiveFrom = effectiveFrom
            self.value = value
            self.status = status
            self.source = source
        }
    }

    /// Oldest first.
    public let entries: [Entry]

    /// A schedule has at least one entry (the parameters file is checked by the tests).
    public init(_ entries: [Entry]) {
        precondition(!entries.isEmpty, "a schedule needs an entry")
        self.entries = entries.sorted { $0.effectiveFrom < $1.effectiveFrom }
    }

    /// A schedule of one value so far, in force from `effectiveFrom`: most parameters have never
    /// changed; a change is a new entry, never an edit of this one.
    public init(from effectiveFrom: BusinessDate, _ value: Value, _ status: ParameterStatus, _ source: String) {
        self.init([Entry(from: effectiveFrom, value, status, source)])
    }

    /// The entry in force on `date`: the latest from on or before it (the earliest for a date
    /// before the schedule begins, so a rule never finds nothing).
    public func entry(on date: BusinessDate) -> Entry {
        entries.last { $0.effectiveFrom <= date } ?? entries[0]
    }

    /// The entry in force on the first day of `month` (a monthly or yearly rule's day). Found
    /// without making that date, so every month a request can name has one, with no fallback.
    public func entry(onFirstDayOf month: YearMonth) -> Entry {
        entries.last { $0.effectiveFrom.yearMonth < month || ($0.effectiveFrom.yearMonth == month && $0.effectiveFrom.day == 1) } ?? entries[0]
    }

    public func value(onFirstDayOf month: YearMonth) -> Value { entry(onFirstDayOf: month).value }

    public func value(on date: BusinessDate) -> Value { entry(on: date).value }

    /// The schedule with one more entry (a new decision; tests of a rate change).
    public func adding(_ entry: Entry) -> Schedule { Schedule(entries + [entry]) }

    /// The days on which the value changes, after `from` and before `to`, with the value from each.
    public func changes(from: BusinessDate, to: BusinessDate) -> [(from: BusinessDate, value: Value)] {
        var result = [(from: from, value: value(on: from))]
        for entry in entries where entry.effectiveFrom > from && entry.effectiveFrom < to {
            result.append((entry.effectiveFrom, entry.value))
        }
        return result
    }
}

/// Rates are kept in thousandths of a percent (1 = 0.001 %): 1.50 % = 1500.
public enum RateUnit {
    /// Thousandths of a percent in one whole.
    public static let perOne: Int64 = 100_000
}

/// What every schedule can say of itself whatever its value type, so one test walks all of them.
public protocol DatedParameter {
    var dated: [(effectiveFrom: BusinessDate, status: ParameterStatus, source: String)] { get }
}

extension Schedule: DatedParameter {
    public var dated: [(effectiveFrom: BusinessDate, status: ParameterStatus, source: String)] {
        entries.map { ($0.effectiveFrom, $0.status, $0.source) }
    }
}
