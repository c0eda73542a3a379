import HTTPTypes
import Instrumentation
import Kafka

/// Carries the `traceparent` across the suite's two boundaries, HTTP and Kafka, as a
/// swift-distributed-tracing `Instrument`: a platform team that runs a tracer (swift-otel, say)
/// reads the same header, so our spans join theirs. Extraction of a missing or malformed value
/// leaves the context without a trace, and the caller starts one.
public struct W3CTracePropagation: Instrument {
    public static let header = "traceparent"

    public init() {}

    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract: Extractor, Extract.Carrier == Carrier {
        if let value = extractor.extract(key: Self.header, from: carrier), let parent = TraceParent(header: value) {
            context.traceParent = parent
        }
    }

    public func inject<Carrier, Inject>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Inject.Carrier == Carrier {
        if let parent = context.traceParent { injector.inject(parent.header, forKey: Self.header, into: &carrier) }
    }

    /// The span a request or event starts: a child of the sender's, or the root of a new trace.
    public func span(continuing parent: TraceParent?) -> TraceParent { parent?.child() ?? .root() }

    public func parent(of fields: HTTPFields) -> TraceParent? {
        var context = ServiceContext.topLevel
        extract(fields, into: &context, using: HTTPFieldsExtractor())
        return context.traceParent
    }

    public func parent(of message: KafkaMessage) -> TraceParent? {
        var context = ServiceContext.topLevel
        extract(message, into: &context, using: KafkaHeaderExtractor())
        return context.traceParent
    }

    /// The current span as record headers (added to an outbox row's headers).
    public func headers(from context: ServiceContext? = .current) -> [String: String] {
        var headers: [String: String] = [:]
        if let context { inject(context, into: &headers, using: DictionaryInjector()) }
        return headers
    }
}

struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? { HTTPField.Name(key).flatMap { carrier[$0] } }
}

struct KafkaHeaderExtractor: Extractor {
    func extract(key: String, from carrier: KafkaMessage) -> String? { carrier.header(key) }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
