import NIOCore
import Policy
import PostgresNIO

/// Business dates cross the driver as Postgres `date`s (binary: days since 2000-01-01), so a
/// query binds `\(date)` and decodes `BusinessDate` directly: no `::date` text round trip, no
/// parsing, no force unwrap. A stored date outside 1800-9999 (`infinity`, a hand-edited row)
/// is a decoding error, never a default.
extension BusinessDate: PostgresNonThrowingEncodable, PostgresDecodable, PostgresArrayEncodable, PostgresArrayDecodable {
    public static var psqlType: PostgresDataType { .date }
    public static var psqlFormat: PostgresFormat { .binary }
    public static var psqlArrayType: PostgresDataType { .dateArray }

    /// Postgres counts dates from 2000-01-01; `dayNumber` from 1970-01-01.
    static let postgresEpochDayNumber = 10_957

    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // Within 1800-9999 the count fits an Int32 many times over.
        byteBuffer.writeInteger(Int32(dayNumber - Self.postgresEpochDayNumber))
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        switch (type, format) {
        case (.date, .binary):
            guard buffer.readableBytes == 4, let days = buffer.readInteger(as: Int32.self),
                let date = BusinessDate(dayNumber: Int(days) + Self.postgresEpochDayNumber)
            else {
                throw PostgresDecodingError.Code.failure
            }
            self = date
        case (.date, .text), (.text, _), (.varchar, _):
            guard let text = buffer.readString(length: buffer.readableBytes), let date = BusinessDate(text) else {
                throw PostgresDecodingError.Code.failure
            }
            self = date
        default:
            throw PostgresDecodingError.Code.typeMismatch
        }
    }
}

/// Months are stored as `YYYY-MM` text (a month has no Postgres type of its own); an unknown
/// form is a decoding error.
extension YearMonth: PostgresNonThrowingEncodable, PostgresDecodable, PostgresArrayEncodable, PostgresArrayDecodable {
    public static var psqlType: PostgresDataType { .text }
    public static var psqlFormat: PostgresFormat { .binary }
    public static var psqlArrayType: PostgresDataType { .textArray }

    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeString(description)
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .text || type == .varchar || type == .bpchar || type == .name else { throw PostgresDecodingError.Code.typeMismatch }
        guard let text = buffer.readString(length: buffer.readableBytes), let month = YearMonth(text) else {
            throw PostgresDecodingError.Code.failure
        }
        self = month
    }
}
