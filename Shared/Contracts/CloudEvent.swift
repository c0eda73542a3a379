import Foundation
import Policy

/// A CloudEvents 1.0 event in structured mode (`application/cloudevents+json`): the whole
/// envelope, with the JSON `data`, is the Kafka record value. The suite uses structured mode on
/// every topic (one choice, see docs/EVENTS.md) so an event can be forwarded verbatim.
public struct CloudEvent<Payload: Codable & Sendable>: Codable, Sendable {
    public var specversion: String = "1.0"
    public var id: String
    /// The producing service, e.g. `/hpf/contribution`.
    public var source: String
    /// `hpf.<service>.<event>.v1`
    public var type: String
    /// The account number the event is about (also the record key).
    public var subject: String
    /// RFC 3339 instant.
    public var time: String
    public var datacontenttype: String = "application/json"
    public var data: Payload

    public init(id: UUID = UUID(), source: String, type: String, subject: String, time: Date = Date(), data: Payload) {
        self.id = id.uuidString.lowercased()
        self.source = source
        self.type = type
        self.subject = subject
        self.time = Instant.format(time)
        self.data = data
    }
}

/// The envelope without its data: what a consumer reads first to route an event.
public struct CloudEventHeader: Codable, Sendable {
    public var specversion: String
    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    public var time: String?
}

public enum CloudEventCoding {
    public static let contentType = "application/cloudevents+json"

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func encode<P>(_ event: CloudEvent<P>) throws -> [UInt8] {
        Array(try encoder().encode(event))
    }

    /// Reads the envelope and checks what CloudEvents 1.0 requires of it.
    public static func header(from bytes: [UInt8]) throws -> CloudEventHeader {
        let header = try JSONDecoder().decode(CloudEventHeader.self, from: Data(bytes))
        guard header.specversion == "1.0", !header.id.isEmpty, !header.type.isEmpty, !header.source.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not a CloudEvents 1.0 envelope"))
        }
        return header
    }

    public static func decode<P>(_ type: P.Type, from bytes: [UInt8]) throws -> CloudEvent<P> {
        try JSONDecoder().decode(CloudEvent<P>.self, from: Data(bytes))
    }
}

/// RFC 3339 instants with millisecond precision in UTC.
public enum Instant {
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// An RFC 3339 instant from 1900 to 2199 (`InputRange.year`): nothing the suite handles is
    /// older or later, and a year such as 0001 would reach date arithmetic that assumes neither.
    public static func parse(_ text: String) -> Date? {
        guard let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)),
            date >= earliest, date < latest
        else { return nil }
        return date
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` in UTC, whole seconds (as `ISO8601DateFormatter` writes it), by
    /// arithmetic: the formatter classes cost a tenth of a request's CPU on the audit path.
    public static func formatSeconds(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // The civil date by the calendar arithmetic business dates use; outside 1800-9999 (no
        // instant the suite handles) the formatter's answer, which is the same text.
        guard let day = BusinessDate(dayNumber: Int(days)) else { return date.formatted(Date.ISO8601FormatStyle()) }
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(day)T\(two(secondOfDay / 3_600)):\(two(secondOfDay % 3_600 / 60)):\(two(secondOfDay % 60))Z"
    }

    /// 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z.
    static let earliest = Date(timeIntervalSince1970: -2_208_988_800)
    static let latest = Date(timeIntervalSince1970: 7_258_118_400)
}
