/// A stored value the code does not know (a hand-edited row, a newer version's enum case):
/// an error that names the column, never silently read as some default.
public struct UnknownStoredValue: Error, CustomStringConvertible {
    public let column: String
    public let value: String
    public var description: String { "unknown value '\(value)' in \(column)" }
    public init(column: String, value: String) {
        self.column = column
        self.value = value
    }
}

public extension RawRepresentable where RawValue == String {
    /// The case stored as `raw` in `column`, or `UnknownStoredValue`.
    static func stored(_ raw: String, column: String) throws -> Self {
        guard let value = Self(rawValue: raw) else { throw UnknownStoredValue(column: column, value: raw) }
        return value
    }
}
