import Contracts
import Foundation
import Kafka
import Logging

/// One record read from a topic, seen as the CloudEvent it should be: what `events` and
/// `account` print, as text or as JSON lines.
struct EventRecord {
    let message: KafkaMessage
    /// The CloudEvents envelope, or nil for a record that is not one.
    let event: [String: Any]?

    init(_ message: KafkaMessage) {
        self.message = message
        let object = (try? JSONSerialization.jsonObject(with: Data(message.value))) as? [String: Any]
        event = object?["type"] is String ? object : nil
    }

    var id: String? { event?["id"] as? String }
    var type: String? { event?["type"] as? String }
    var time: String? { event?["time"] as? String }
    var instant: Date? { time.flatMap { Instant.parse($0) } }
    var position: String { "\(message.topic)[\(message.partition)]@\(message.offset)" }
    var valueText: String { String(decoding: message.value, as: UTF8.self) }

    /// The event's data as compact JSON with sorted keys.
    var dataJSON: String {
        guard let data = event?["data"],
            let bytes = try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `topic[partition]@offset type subject=S`, then the data on the next line, indented.
    var text: String {
        guard let type else { return "\(position) (not a CloudEvent) \(valueText)" }
        return "\(position) \(type) subject=\(event?["subject"] as? String ?? "-")\n    \(dataJSON)"
    }

    /// One JSON object on one line: `{"topic","partition","offset","key","event"}`, the event as
    /// it travelled; a record that is not a CloudEvent has `"value"` (its text) instead of `"event"`.
    var jsonLine: String {
        var fields = [
            "\"topic\":" + JSONText.string(message.topic), "\"partition\":\(message.partition)", "\"offset\":\(message.offset)",
            "\"key\":" + (message.keyString.map(JSONText.string) ?? "null"),
        ]
        if event != nil {
            // The value parsed as JSON, so a line break in it can only be white space between tokens.
            let raw = valueText.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            fields.append("\"event\":" + raw.trimmingCharacters(in: .whitespaces))
        } else {
            fields.append("\"value\":" + JSONText.string(valueText))
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// By CloudEvents time (records without one last), then topic, partition and offset.
    static func chronologically(_ a: EventRecord, _ b: EventRecord) -> Bool {
        switch (a.instant, b.instant) {
        case let (x?, y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default:
            if a.message.topic != b.message.topic { return a.message.topic < b.message.topic }
            if a.message.partition != b.message.partition { return a.message.partition < b.message.partition }
            return a.message.offset < b.message.offset
        }
    }
}

/// JSON text written by hand, for lines whose field order is part of the format.
enum JSONText {
    /// A JSON string literal.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// Reads topics from the beginning outside any group (partitions assigned, nothing committed for
/// anyone), quiet but for errors: up to the ends the topics had when the read began, so that what
/// is printed is complete, not whatever arrived within a few seconds; `follow` reads on after.
enum EventReader {
    /// Hands each record to `body`; true when every partition was read to its end before `timeout`.
    static func read(
        topics: [String], purpose: String, follow: Bool = false, timeout: Duration,
        _ body: (KafkaMessage) throws -> Void
    ) async throws -> Bool {
        var logger = Logger(label: "hpfctl")
        logger.logLevel = .error
        let configuration = try Environment.consumer(
            groupID: "hpfctl.\(purpose).\(UUID().uuidString.prefix(8))",
            clientID: "hpfctl")
        let reader = try KafkaConsumer(readerConfiguration: configuration, logger: logger)
        let deadline = ContinuousClock.now + timeout
        let complete: Bool
        do {
            let ends = try await reader.watermarks(of: topics)
            try reader.readFromStart(Array(ends.keys))
            // The partitions still to read, each to the offset the next record would have had.
            var remaining = ends.filter { $0.value.upperBound > $0.value.lowerBound }.mapValues(\.upperBound)
            while follow || (!remaining.isEmpty && ContinuousClock.now < deadline) {
                let batch = try await reader.poll(maxMessages: 1000, timeoutMs: 200)
                for message in batch {
                    try body(message)
                    let partition = TopicPartition(topic: message.topic, partition: message.partition)
                    if let end = remaining[partition], message.offset + 1 >= end { remaining[partition] = nil }
                }
                if !batch.isEmpty { fflush(nil) }  // a pipe reader (jq, a test) sees each batch as it comes
            }
            complete = remaining.isEmpty
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        return complete
    }
}
