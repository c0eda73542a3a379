import CRdkafka
import Foundation
import Logging
import Synchronization

/// A group consumer. Messages are pulled (librdkafka's own queue is the backpressure), each
/// poll runs on the client's private queue, and offsets are stored explicitly by the caller
/// once its processing has committed; auto-commit then commits only what was stored.
public final class KafkaConsumer: @unchecked Sendable {
    let client: KafkaClient
    private let closed = Atomic<Bool>(false)
    public let topics: [String]

    public init(configuration: KafkaConfiguration, topics: [String], logger: Logger) throws {
        client = try KafkaClient(type: RD_KAFKA_CONSUMER, configuration: configuration, logger: logger)
        self.topics = topics
        rd_kafka_poll_set_consumer(client.handle)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let err = rd_kafka_subscribe(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            client.destroy()
            throw KafkaError(.consume, err)
        }
    }

    /// A reader of whole partitions, outside any group: nothing is committed and no group is
    /// joined, so the service's own consumers are not disturbed (a read-model rebuild replays
    /// topics this way). It reads nothing until `readFromStart` names the partitions (typically
    /// those `watermarks(of:)` found).
    public init(readerConfiguration configuration: KafkaConfiguration, logger: Logger) throws {
        client = try KafkaClient(type: RD_KAFKA_CONSUMER, configuration: configuration.with("enable.auto.commit", "false"), logger: logger)
        topics = []
        rd_kafka_poll_set_consumer(client.handle)
    }

    /// Reads `partitions` from their start (`RD_KAFKA_OFFSET_BEGINNING`), in place of any earlier assignment.
    public func readFromStart(_ partitions: [TopicPartition]) throws {
        let list = Self.list(partitions, offset: Int64(RD_KAFKA_OFFSET_BEGINNING))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard let err = client.withHandle({ rd_kafka_assign($0, list) }) else { throw KafkaError.clientClosed }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.consume, err) }
    }

    /// Polls up to `maxMessages` messages, waiting at most `timeoutMs` for the first one.
    /// An empty array means nothing arrived in time.
    public func poll(maxMessages: Int = 1, timeoutMs: Int32 = 100) async throws -> [KafkaMessage] {
        guard !closed.load(ordering: .acquiring) else { return [] }
        let logger = client.logger
        let outcome: Result<[KafkaMessage], KafkaError> = await client.blocking(ifClosed: .success([])) { [self] rk in
            guard !self.closed.load(ordering: .acquiring) else { return .success([]) }
            var messages: [KafkaMessage] = []
            var wait = timeoutMs
            while messages.count < maxMessages, let raw = rd_kafka_consumer_poll(rk, wait) {
                defer { rd_kafka_message_destroy(raw) }
                wait = 0
                let msg = raw.pointee
                if msg.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    if msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                    var errstr = [CChar](repeating: 0, count: 512)
                    if rd_kafka_fatal_error(rk, &errstr, errstr.count) != RD_KAFKA_RESP_ERR_NO_ERROR {
                        return .failure(KafkaError(.consume, code: msg.err.rawValue, message: String(cString: errstr)))
                    }
                    // Transient: unknown topic during start-up, broker reconnects, a missed
                    // max.poll.interval (librdkafka rejoins the group on the next poll).
                    logger.warning("consumer: \(String(cString: rd_kafka_err2str(msg.err)))")
                    continue
                }
                messages.append(Self.copy(raw))
            }
            return .success(messages)
        }
        return try outcome.get()
    }

    private static func copy(_ raw: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let msg = raw.pointee
        let value = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) } ?? []
        let key = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(raw, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePtr: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &valuePtr, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = valuePtr.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", bytes: bytes))
                index += 1
            }
        }
        let topic = msg.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        return KafkaMessage(topic: topic, partition: msg.partition, offset: msg.offset, key: key, value: value, headers: headers)
    }

    /// Marks a message as processed: its offset (+1) will be committed by the next auto-commit.
    /// A partition lost in a rebalance cannot be stored: its new owner re-reads it and the
    /// inbox absorbs the duplicate, so that case is logged, not thrown.
    public func storeOffset(_ message: KafkaMessage) throws {
        // A loop abandoned by a bounded stop may wake after the handle was closed: nothing to store then.
        guard !closed.load(ordering: .acquiring) else { return }
        guard let list = rd_kafka_topic_partition_list_new(1) else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, message.topic, message.partition)
        entry?.pointee.offset = message.offset + 1
        guard let err = client.withHandle({ rd_kafka_offsets_store($0, list) }) else { return }
        if err == RD_KAFKA_RESP_ERR__STATE || entry?.pointee.err == RD_KAFKA_RESP_ERR__STATE {
            client.logger.info("offset not stored: partition \(message.topic)/\(message.partition) no longer assigned")
            return
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.offsetStore, err) }
    }

    /// The partition's end as last seen by a fetch (librdkafka's cached high watermark: no round
    /// trip), or nil before the first fetch. `end - (offset + 1)` is how far a consumer that just
    /// handled `offset` is behind.
    public func cachedEndOffset(topic: String, partition: Int32) -> Int64? {
        guard !closed.load(ordering: .acquiring) else { return nil }
        var low: Int64 = -1, high: Int64 = -1
        let err = client.withHandle { rd_kafka_get_watermark_offsets($0, topic, partition, &low, &high) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// Commits the stored offsets now and waits for the broker (off the cooperative pool).
    public func commitStored() async throws {
        let err = await client.blocking(ifClosed: RD_KAFKA_RESP_ERR__DESTROY) { rk in rd_kafka_commit(rk, nil, 0) }
        if err == RD_KAFKA_RESP_ERR__DESTROY { throw KafkaError.clientClosed }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET { throw KafkaError(.offsetStore, err) }
    }

    public func isBrokerReachable(timeoutMs: Int32 = 2_000) async -> Bool {
        await client.isBrokerReachable(timeoutMs: timeoutMs)
    }

    /// Leaves the group (committing stored offsets) and destroys the handle. Idempotent; runs
    /// after any poll in flight, since both use the client's serial queue, and after any other
    /// call in progress (the client's gate); calls after it find the handle closed. Leaving waits for the
    /// group coordinator, which can take as long as a rebalance in progress: after `seconds` this
    /// returns false and the close finishes in the background, so that a stopping service is not
    /// held by the broker.
    @discardableResult
    public func close(within seconds: Double = 10) async -> Bool {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return true }
        let client = self.client
        let outcome = FirstOutcome()
        return await withCheckedContinuation { continuation in
            outcome.set(continuation)
            client.blockingQueue.async {
                client.destroy(after: { rd_kafka_consumer_close($0) })
                outcome.finish(true)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { outcome.finish(false) }
        }
    }

    /// Resumes a continuation with whichever outcome comes first.
    private final class FirstOutcome: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Bool, Never>?
        private var result: Bool?

        func set(_ continuation: CheckedContinuation<Bool, Never>) {
            lock.lock(); defer { lock.unlock() }
            if let result { continuation.resume(returning: result) } else { self.continuation = continuation }
        }

        func finish(_ value: Bool) {
            lock.lock(); defer { lock.unlock() }
            guard result == nil else { return }
            result = value
            continuation?.resume(returning: value)
            continuation = nil
        }
    }

    /// The messages as an async sequence; iteration ends when the task is cancelled or the
    /// consumer is closed.
    public var messages: Messages { Messages(consumer: self) }

    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = KafkaMessage
        let consumer: KafkaConsumer
        public func makeAsyncIterator() -> Iterator { Iterator(consumer: consumer) }

        public struct Iterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            var buffered: [KafkaMessage] = []
            public mutating func next() async throws -> KafkaMessage? {
                while buffered.isEmpty {
                    if Task.isCancelled || consumer.closed.load(ordering: .acquiring) { return nil }
                    buffered = try await consumer.poll(maxMessages: 64, timeoutMs: 100).reversed()
                }
                return buffered.popLast()
            }
        }
    }
}
