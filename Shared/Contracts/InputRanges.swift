import Foundation

/// The range every value from outside may take (request bodies, query parameters, event data),
/// one per kind of field. A field's kind follows from its name, which the whole contract keeps
/// to: amounts end in `Fen`, durations in `Months`, counts in `Count`, dates and instants are
/// ISO 8601 strings. The OpenAPI schemas state the same bounds (README "Input ranges").
///
/// The bounds are far beyond anything the scheme allows (the rules refuse what is merely large
/// with their own codes) but small enough that no rule's arithmetic on them can overflow
/// Int64, and what does go wrong there is refused by `Checked`, never a trap.
public enum InputRange {
    /// A person's amount (a deposit, a price, an income, a loan, a transfer): 0 to 10 billion yuan.
    public static let amountFen: ClosedRange<Int64> = 0...1_000_000_000_000
    /// An adjustment of the fund pool, which may go either way: at most 1 trillion yuan.
    public static let poolAdjustmentFen: ClosedRange<Int64> = -100_000_000_000_000...100_000_000_000_000
    /// A duration in months (a loan term, a rent plan, contribution months): 0 to 100 years.
    public static let months: ClosedRange<Int64> = 0...1_200
    /// A count of people or things (children, contributions, records): 0 to a million.
    public static let count: ClosedRange<Int64> = 0...1_000_000
    /// A calendar year, and the year of every date, month and instant.
    public static let year: ClosedRange<Int64> = 1900...2199
    /// Any other integer (a sequence number, a page size, a rate): below 10^15 either way.
    public static let integer: ClosedRange<Int64> = -1_000_000_000_000_000...1_000_000_000_000_000
    /// A page of a list.
    public static let pageLimit: ClosedRange<Int64> = 1...500

    /// The range of a field by its name.
    public static func forField(named name: String) -> ClosedRange<Int64> {
        if name.hasSuffix("Fen") { return amountFen }
        if name.hasSuffix("Months") || name == "months" || name == "term" { return months }
        if name.hasSuffix("Count") { return count }
        if name == "year" { return year }
        return integer
    }
}

/// One value outside its range, named by its path in the document (`house.priceFen`).
public struct RangeViolation: Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Checks every number and every date-like string of a JSON document against `InputRange`.
/// It runs before the typed decoding, so that no handler or consumer ever sees a value outside
/// its field's range, whatever type the field is decoded as.
public enum RangeCheck {
    /// The violations in `json`; empty when the document is in range or is not JSON at all
    /// (the typed decoding reports that). `overrides` gives a field (by its name) another range.
    public static func violations(in json: Data, overrides: [String: ClosedRange<Int64>] = [:]) -> [RangeViolation] {
        if let found = json.withUnsafeBytes({ RangeScan.violations(in: $0, overrides: overrides) }) { return found }
        return decodedViolations(in: json, overrides: overrides)
    }

    /// The same check by decoding the whole document first: every document `RangeScan` leaves.
    static func decodedViolations(in json: Data, overrides: [String: ClosedRange<Int64>] = [:]) -> [RangeViolation] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: json) else { return [] }
        var found: [RangeViolation] = []
        walk(value, path: "", key: "", overrides: overrides, into: &found)
        return found
    }

    static func walk(_ value: JSONValue, path: String, key: String, overrides: [String: ClosedRange<Int64>], into found: inout [RangeViolation]) {
        switch value {
        case .integer(let number):
            let range = overrides[key] ?? InputRange.forField(named: key)
            if !range.contains(number) { found.append(.init(field: path, message: "must be between \(range.lowerBound) and \(range.upperBound)")) }
        case .fraction:
            // Not an integer: either a fraction (the typed decoding refuses it where it wants an
            // integer) or beyond Int64, which no field may be.
            found.append(.init(field: path, message: "must be an integer within \(InputRange.integer.lowerBound)...\(InputRange.integer.upperBound)"))
        case .text(let text):
            if let year = leadingYear(text), !InputRange.year.contains(year) {
                found.append(.init(field: path, message: "the year must be between \(InputRange.year.lowerBound) and \(InputRange.year.upperBound)"))
            }
        case .array(let items):
            for (index, item) in items.enumerated() { walk(item, path: "\(path)[\(index)]", key: key, overrides: overrides, into: &found) }
        case .object(let members):
            for (name, member) in members { walk(member, path: path.isEmpty ? name : "\(path).\(name)", key: name, overrides: overrides, into: &found) }
        case .bool, .null:
            break
        }
    }

    /// The year of a text shaped like an ISO 8601 month, date or instant (`2026-03`,
    /// `2026-03-16`, `2026-03-16T10:00:00+08:00`); nil for any other text, so that an id that
    /// merely starts with digits is left alone.
    public static func leadingYear(_ text: String) -> Int64? {
        let bytes = Array(text.utf8.prefix(11))
        func digit(_ i: Int) -> Int64? {
            guard i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) else { return nil }
            return Int64(bytes[i] - UInt8(ascii: "0"))
        }
        func byte(_ i: Int, is character: Character) -> Bool { i < bytes.count && bytes[i] == character.asciiValue }
        guard let a = digit(0), let b = digit(1), let c = digit(2), let d = digit(3), byte(4, is: "-"),
            digit(5) != nil, digit(6) != nil
        else { return nil }
        let monthOnly = bytes.count == 7
        let date = byte(7, is: "-") && digit(8) != nil && digit(9) != nil && (bytes.count == 10 || byte(10, is: "T") || byte(10, is: " "))
        guard monthOnly || date else { return nil }
        return a * 1000 + b * 100 + c * 10 + d
    }
}

/// Any JSON value, with integers kept apart from other numbers.
enum JSONValue: Decodable {
    case null, bool(Bool), integer(Int64), fraction, text(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: JSONValue] = [:]
            for key in keyed.allKeys { members[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(members)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .integer(value)
        } else if (try? single.decode(Double.self)) != nil {
            self = .fraction
        } else {
            self = .text(try single.decode(String.self))
        }
    }

    struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
