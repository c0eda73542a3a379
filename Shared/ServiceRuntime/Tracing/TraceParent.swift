import Foundation
import ServiceContextModule

/// A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/): the trace one
/// deposit, withdrawal or transfer belongs to, and the span (a request served, an event handled)
/// that caused the current work. Carried in `ServiceContext`, so it follows a request's task into
/// the events it writes, and an event's handling into the events that handling writes.
public struct TraceParent: Sendable, Equatable, CustomStringConvertible {
    /// 32 lower-case hex digits, not all zero.
    public let traceID: String
    /// 16 lower-case hex digits, not all zero.
    public let spanID: String
    public let sampled: Bool

    /// A new trace (nothing upstream sent one).
    public static func root() -> TraceParent {
        TraceParent(traceID: randomHex(bytes: 16), spanID: randomHex(bytes: 8), sampled: true)
    }

    /// A span of the same trace, caused by this one.
    public func child() -> TraceParent { TraceParent(traceID: traceID, spanID: Self.randomHex(bytes: 8), sampled: sampled) }

    /// The header value: version 00.
    public var header: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }
    public var description: String { header }

    /// Parses a `traceparent` value; nil for anything the specification says to ignore (then a
    /// new trace starts). A later version is read by its version-00 prefix, as the
    /// specification asks.
    public init?(header: String) {
        let value = header.trimmingCharacters(in: .whitespaces)
        let bytes = Array(value.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-") else { return nil }
        let version = String(decoding: bytes[0..<2], as: UTF8.self)
        guard Self.isHex(version), version != "ff", version == "00" ? bytes.count == 55 : (bytes.count == 55 || bytes[55] == UInt8(ascii: "-")) else {
            return nil
        }
        let trace = String(decoding: bytes[3..<35], as: UTF8.self)
        let span = String(decoding: bytes[36..<52], as: UTF8.self)
        let flags = String(decoding: bytes[53..<55], as: UTF8.self)
        guard Self.isHex(trace), Self.isHex(span), Self.isHex(flags),
            trace != String(repeating: "0", count: 32), span != String(repeating: "0", count: 16),
            let flagBits = UInt8(flags, radix: 16)
        else { return nil }
        self.init(traceID: trace, spanID: span, sampled: flagBits & 1 == 1)
    }

    init(traceID: String, spanID: String, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// Lower-case hex only: the specification refuses upper case.
    static func isHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.contains(where: { $0 != 0 }) { return Hex.encode(bytes) }
        }
    }

    /// The trace the current task works for, if any.
    public static var current: TraceParent? { ServiceContext.current?.traceParent }

    /// Runs `body` as `span` (its events and log lines carry it).
    public static func withSpan<T>(_ span: TraceParent, _ body: () async throws -> T) async rethrows -> T {
        var context = ServiceContext.current ?? .topLevel
        context.traceParent = span
        return try await ServiceContext.withValue(context) { try await body() }
    }
}

private enum TraceParentKey: ServiceContextKey {
    typealias Value = TraceParent
    static var nameOverride: String? { "traceparent" }
}

public extension ServiceContext {
    var traceParent: TraceParent? {
        get { self[TraceParentKey.self] }
        set { self[TraceParentKey.self] = newValue }
    }
}
