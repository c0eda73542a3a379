import CRdkafka
import Dispatch
import Logging

/// Owns one `rd_kafka_t` and routes librdkafka's own log lines into swift-log.
/// Blocking librdkafka calls run on this client's private dispatch queue, never on the
/// cooperative thread pool.
final class KafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let logger: Logger
    let blockingQueue: DispatchQueue
    private let logSink: Unmanaged<LogSink>
    private let gate = HandleGate()

    final class LogSink {
        let logger: Logger
        init(logger: Logger) { self.logger = logger }
    }

    init(
        type: rd_kafka_type_t, configuration: KafkaConfiguration, logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws {
        let conf = try configuration.makeNative()
        let sink = Unmanaged.passRetained(LogSink(logger: logger))
        rd_kafka_conf_set_opaque(conf, sink.toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let sink = Unmanaged<LogSink>.fromOpaque(opaque).takeUnretainedValue()
            let text = message.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug.
            let swiftLevel: Logger.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
            sink.logger.log(level: swiftLevel, "librdkafka \(fac): \(text)")
        }
        configure(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            sink.release()
            throw KafkaError(.clientCreation, message: String(cString: errstr))
        }
        self.handle = rk
        self.logger = logger
        self.logSink = sink
        self.blockingQueue = DispatchQueue(label: "kafka.\(configuration.properties["client.id"] ?? "client")")
    }

    /// Runs `body` on the handle, or returns nil when the handle is destroyed (or being
    /// destroyed). Every use of the handle goes through here or `blocking`.
    func withHandle<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T? {
        guard gate.enter() else { return nil }
        defer { gate.leave() }
        return try body(handle)
    }

    /// Runs a blocking librdkafka call off the cooperative pool; `ifClosed` is the answer once
    /// the handle is destroyed.
    func blocking<T: Sendable>(ifClosed: T, _ body: @escaping @Sendable (OpaquePointer) -> T) async -> T {
        await withCheckedContinuation { continuation in
            blockingQueue.async {
                guard self.gate.enter() else { return continuation.resume(returning: ifClosed) }
                defer { self.gate.leave() }
                continuation.resume(returning: body(self.handle))
            }
        }
    }

    /// Asks the cluster for metadata: true when a broker answered within the timeout.
    func isBrokerReachable(timeoutMs: Int32) async -> Bool {
        await blocking(ifClosed: false) { rk in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(rk, 0, nil, &metadata, timeoutMs)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            return err == RD_KAFKA_RESP_ERR_NO_ERROR
        }
    }

    /// Waits for the calls in progress, refuses later ones, runs `last` (a consumer leaving its
    /// group, a producer failing what it still holds) and destroys the handle. Idempotent.
    func destroy(after last: (OpaquePointer) -> Void = { _ in }) {
        guard gate.close() else { return }
        last(handle)
        rd_kafka_destroy(handle)
        logSink.release()
    }

    /// `destroy` on the client's queue, off the cooperative pool: it waits for the calls in
    /// progress and for librdkafka's own threads, and the pool has one thread per core.
    func destroyOffPool(after last: @escaping @Sendable (OpaquePointer) -> Void = { _ in }) async {
        await withCheckedContinuation { continuation in
            blockingQueue.async {
                self.destroy(after: last)
                continuation.resume()
            }
        }
    }
}
