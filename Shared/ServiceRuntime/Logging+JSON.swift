import Foundation
import Logging

/// One JSON object per line on stderr, for log shippers. Metadata never carries raw resident ID
/// numbers: callers log masked values only. `ts`, `level`, `logger` and `msg` are the handler's
/// own: a metadata key of those names is written as `meta.<key>`, never over them. A line
/// written while a trace is current carries its `trace_id` and `span_id`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) { self.label = label }

    static let reserved: Set<String> = ["ts", "level", "logger", "msg"]

    /// The line's fields: the handler's own first, the trace's, then the metadata under names
    /// that cannot replace them.
    public static func fields(
        label: String, level: Logger.Level, message: String, metadata: Logger.Metadata, trace: TraceParent?,
        at time: Date = Date()
    ) -> [String: String] {
        var object: [String: String] = [:]
        for (key, value) in metadata { object[reserved.contains(key) ? "meta.\(key)" : key] = "\(value)" }
        if let trace {
            object["trace_id"] = trace.traceID
            object["span_id"] = trace.spanID
        }
        object["ts"] = time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        object["level"] = level.rawValue
        object["logger"] = label
        object["msg"] = message
        return object
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let object = Self.fields(
            label: label, level: event.level, message: "\(event.message)",
            metadata: metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }), trace: TraceParent.current)
        FileHandle.standardError.write(Self.line(object))
    }

    /// The object as one line of JSON, keys sorted, ending in a newline. Written by hand:
    /// `JSONSerialization` (a dictionary of `Any`, its keys sorted through `NSString.compare`)
    /// cost a tenth of a busy consumer's CPU, one line per event.
    public static func line(_ object: [String: String]) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(UInt8(ascii: "{"))
        // Keys in the order of their UTF-8 bytes (JSONSerialization's `.sortedKeys` ignored case;
        // the suite's keys are lower-case words, so the lines read as before).
        for (index, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendString(object[key] ?? "", to: &out)
        }
        out.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
        return Data(out)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped, `/` and
    /// everything else as it is (valid UTF-8 stays valid: a Swift string's UTF-8 always is).
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)],
                ])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
