import PostgresNIO

/// A row read by column name instead of by position, for statements with many columns: the
/// select list and the reader cannot drift apart, and a column the statement does not select is
/// an error naming it (PostgresNIO's own lookup by name would stop the process).
public struct NamedColumns {
    let row: PostgresRandomAccessRow
    let table: String

    public struct Missing: Error, CustomStringConvertible {
        public let column: String
        public var description: String { "the statement selects no column \(column)" }
    }

    /// `table` names the stored values in errors (`UnknownStoredValue`).
    public init(_ row: PostgresRow, table: String) {
        self.row = row.makeRandomAccess()
        self.table = table
    }

    /// The value of `column` (an optional type reads NULL as nil).
    public func callAsFunction<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard row.contains(column) else { throw Missing(column: "\(table).\(column)") }
        return try row[column].decode(T.self)
    }

    /// A stored enum case; an unknown one is `UnknownStoredValue`, never a default.
    public func stored<Value: RawRepresentable>(_ column: String, as type: Value.Type = Value.self) throws -> Value where Value.RawValue == String {
        try Value.stored(try self(column, as: String.self), column: "\(table).\(column)")
    }

    /// An optional stored enum case: NULL is nil, an unknown value is `UnknownStoredValue`.
    public func storedIfPresent<Value: RawRepresentable>(_ column: String, as type: Value.Type = Value.self) throws -> Value?
    where Value.RawValue == String {
        try self(column, as: String?.self).map { try Value.stored($0, column: "\(table).\(column)") }
    }
}
