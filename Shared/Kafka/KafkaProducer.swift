import CRdkafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent producer whose sends can be awaited until the broker's delivery report.
///
/// A dedicated thread serves librdkafka's callbacks (`rd_kafka_poll`), so nothing blocks the
/// cooperative pool. As a lifecycle `Service`, `run()` waits for graceful shutdown and then
/// flushes what is still in flight before the handle is destroyed.
public final class KafkaProducer: Service, @unchecked Sendable {
    let client: KafkaClient
    private let polling = Atomic<Bool>(true)
    private let closed = Atomic<Bool>(false)
    private let pollThreadDone = DispatchSemaphore(value: 0)

    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        client = try KafkaClient(type: RD_KAFKA_PRODUCER, configuration: configuration, logger: logger) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let future = Unmanaged<DeliveryFuture>.fromOpaque(opaque).takeRetainedValue()
                let msg = message.pointee
                if msg.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    let topic = msg.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                    future.complete(.success(DeliveryReport(topic: topic, partition: msg.partition, offset: msg.offset)))
                } else {
                    future.complete(.failure(KafkaError(.delivery, msg.err)))
                }
            }
        }
        // A delivery report ends the wait at once; the timeout only sets how often an idle producer
        // wakes, since a stop wakes the thread itself (`shutdown`).
        let thread = Thread { [self] in
            while self.polling.load(ordering: .acquiring), self.client.withHandle({ rd_kafka_poll($0, Self.idlePollMs) }) != nil {}
            self.pollThreadDone.signal()
        }
        thread.name = "kafka-producer-poll"
        thread.start()
    }

    /// Sends one message and waits for the broker to acknowledge it.
    @discardableResult
    public func send(_ message: OutgoingMessage) async throws -> DeliveryReport {
        let future = try await enqueue(message)
        return try await future.value
    }

    /// Sends many messages at once and waits for all delivery reports: the throughput path.
    /// Results come back in the order of `messages`.
    public func send(batch messages: [OutgoingMessage]) async throws -> [Result<DeliveryReport, KafkaError>] {
        var futures: [DeliveryFuture] = []
        futures.reserveCapacity(messages.count)
        for message in messages { futures.append(try await enqueue(message)) }
        var results: [Result<DeliveryReport, KafkaError>] = []
        results.reserveCapacity(futures.count)
        for future in futures { results.append(await future.result) }
        return results
    }

    /// Hands a message to librdkafka (the first half of a send; internal, for tests that stop a
    /// producer with a message queued). When its bounded queue is full we wait for room
    /// rather than buffer without limit.
    func enqueue(_ message: OutgoingMessage) async throws -> DeliveryFuture {
        guard !closed.load(ordering: .acquiring) else { throw KafkaError.clientClosed }
        let future = DeliveryFuture()
        var backoffNs: UInt64 = 1_000_000
        while true {
            let opaque = Unmanaged.passRetained(future).toOpaque()
            let err = client.withHandle { Self.produce($0, message, opaque) } ?? RD_KAFKA_RESP_ERR__DESTROY
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return future }
            Unmanaged<DeliveryFuture>.fromOpaque(opaque).release()
            if err == RD_KAFKA_RESP_ERR__DESTROY { throw KafkaError.clientClosed }
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL else { throw KafkaError(.produce, err) }
            try await Task.sleep(nanoseconds: backoffNs)
            backoffNs = min(backoffNs * 2, 100_000_000)
        }
    }

    private static func produce(_ rk: OpaquePointer, _ message: OutgoingMessage, _ opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                header.value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress, bytes.count)
                }
            }
        }
        let err = message.value.withUnsafeBytes { value in
            if let key = message.key {
                return key.withUnsafeBytes { keyBytes in
                    hpf_rd_produce(rk, message.topic, keyBytes.baseAddress, keyBytes.count, value.baseAddress, value.count, headers, opaque)
                }
            }
            return hpf_rd_produce(rk, message.topic, nil, 0, value.baseAddress, value.count, headers, opaque)
        }
        // On success librdkafka owns the headers; on failure they are still ours.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return err
    }

    /// librdkafka's out queue: messages handed to it and not yet acknowledged (or failed), plus
    /// delivery reports and client events (a refused connection) not yet served. 0 once closed.
    public var inFlight: Int { client.withHandle { Int(rd_kafka_outq_len($0)) } ?? 0 }

    /// Waits (off the cooperative pool) until everything in flight is delivered or the timeout passes.
    public func flush(timeoutMs: Int32 = 10_000) async -> Bool {
        await client.blocking(ifClosed: false) { rk in rd_kafka_flush(rk, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR }
    }

    public func isBrokerReachable(timeoutMs: Int32 = 2_000) async -> Bool {
        await client.isBrokerReachable(timeoutMs: timeoutMs)
    }

    /// Creates topics that do not exist yet; existing ones are left as they are.
    public func createTopics(_ topics: [TopicSpec], timeoutMs: Int32 = 15_000) async throws {
        try await KafkaAdmin.createTopics(client: client, topics: topics, timeoutMs: timeoutMs)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// How long the poll thread waits for a delivery report before it looks again (twice a second
    /// when idle; it woke 20 times a second before).
    static let idlePollMs: Int32 = 500

    /// How long a stopping producer waits for the delivery reports of what it purged: they are
    /// local (no broker round trip), so this bounds only a wedged client.
    static let purgeReportsMs: Int32 = 2_000

    /// Flushes in-flight messages (waiting at most `flushTimeoutMs`), stops the poll thread and
    /// destroys the handle. Idempotent. What the flush could not deliver is purged before the
    /// handle goes, and its delivery reports served, so every send still waiting gets an answer
    /// (a failure that `KafkaError.isPurgedAtStop`) instead of waiting for ever.
    public func shutdown(flushTimeoutMs: Int32 = 10_000) async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if !(await flush(timeoutMs: flushTimeoutMs)) { client.logger.warning("producer closed with undelivered messages") }
        polling.store(false, ordering: .releasing)
        // Ends the poll thread's wait now rather than at its timeout.
        client.withHandle { rk in
            let main = rd_kafka_queue_get_main(rk)
            rd_kafka_queue_yield(main)
            rd_kafka_queue_destroy(main)
        }
        let done = pollThreadDone
        await client.blocking(ifClosed: ()) { _ in done.wait() }
        let logger = client.logger
        await client.destroyOffPool(after: { rk in
            rd_kafka_purge(rk, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            // Serves the purged messages' delivery reports (the poll thread has stopped).
            if rd_kafka_flush(rk, Self.purgeReportsMs) != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("producer destroyed before every purged send was answered")
            }
        })
    }
}
