import Contracts
import Foundation
import Hummingbird

/// Query parameters read strictly: a value that does not parse, lies outside its `InputRange`
/// or names no known case is a 400 naming the parameter, never replaced by a default. An
/// absent parameter is nil, and the caller says what absence means.
public struct QueryInput: Sendable {
    let parameters: [String: String]

    public init(_ request: Request) {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
        self.parameters = parameters
    }

    /// The text of `name`; control characters are refused as in bodies.
    public func text(_ name: String) throws -> String? {
        guard let value = parameters[name] else { return nil }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw Self.problem(name, "must not hold a control character")
        }
        return value
    }

    /// An integer within `range` (by default the range of the parameter's kind of field).
    public func integer(_ name: String, range: ClosedRange<Int64>? = nil) throws -> Int64? {
        guard let text = try text(name) else { return nil }
        let range = range ?? InputRange.forField(named: name)
        guard let value = Int64(text), range.contains(value) else {
            throw Self.problem(name, "must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// A UUID (a cursor such as `after`).
    public func uuid(_ name: String) throws -> UUID? {
        guard let text = try text(name) else { return nil }
        guard let value = UUID(uuidString: text) else { throw Self.problem(name, "must be a UUID") }
        return value
    }

    /// `true` or `false`, nothing else.
    public func flag(_ name: String) throws -> Bool? {
        switch try text(name) {
        case nil: return nil
        case "true": return true
        case "false": return false
        default: throw Self.problem(name, "must be true or false")
        }
    }

    /// One of the cases of `type`, by its raw value.
    public func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, _ type: Choice.Type) throws -> Choice? where Choice.RawValue == String {
        guard let text = try text(name) else { return nil }
        guard let value = Choice(rawValue: text) else {
            throw Self.problem(name, "must be one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    static func problem(_ name: String, _ message: String) -> Problem {
        Problem.malformed("\(name) \(message)", errors: [.init(field: name, message: message)])
    }
}
