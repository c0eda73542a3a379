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
    public static func fields(label: String, level: Logger.Level, message: String, metadata: Logger.Metadata, trace: TraceParent?,
                              at time: Date = Date()) -> [String: String] {
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
        let object = Self.fields(label: label, level: event.level, message: "\(event.message)",
                                 metadata: metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }), trace: TraceParent.current)
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        FileHandle.standardError.write(data + Data([0x0A]))
    }
}
