import Contracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// The idempotent consumer (inbox) runner. For each message: read the envelope, find the
/// handler, and in one transaction record the event id in `processed_events` and apply the
/// effect; a duplicate id is skipped. Only after the commit is the offset stored. Transient
/// database errors are retried with backoff (the partition waits: nothing is skipped); events
/// that cannot be processed go to the dead-letter topic through the outbox, in the same
/// transaction that records them as handled, and the partition moves on. Partitions are
/// processed side by side, each in order.
public final class EventConsumerService: Service, Sendable {
    let subscription: EventSubscription
    let database: Database
    let kafka: KafkaConfiguration
    let signal: OutboxSignal
    let gate: StartupGate
    let source: String
    let logger: Logger
    let handlers: [String: EventHandler]
    let eventKeys: EventKeyring
    /// What a handler's context is built from (`ServiceRuntime.context(on:logger:)`).
    let runtime: ServiceRuntime
    let processed: Counter
    let duplicates: Counter
    let transientRetries: Counter
    let failureRetries: Counter

    public init(subscription: EventSubscription, runtime: ServiceRuntime) {
        self.subscription = subscription
        database = runtime.database
        kafka = runtime.config.transport.apply(
            to: .consumer(
                brokers: runtime.config.kafkaBrokers, groupID: "\(runtime.config.consumerGroup).\(subscription.consumerName)",
                clientID: "\(runtime.descriptor.name)-\(subscription.consumerName)"))
        signal = runtime.outboxSignal
        gate = runtime.gate
        source = runtime.descriptor.eventSource
        logger = runtime.logger
        handlers = Dictionary(subscription.handlers.map { ($0.type.rawValue, $0) }, uniquingKeysWith: { $1 })
        eventKeys = runtime.eventKeys
        self.runtime = runtime
        let name = subscription.consumerName
        processed = HPFMetrics.eventsProcessed(consumer: name)
        duplicates = HPFMetrics.eventsDuplicate(consumer: name)
        transientRetries = HPFMetrics.handlerRetries(consumer: name, kind: "transient")
        failureRetries = HPFMetrics.handlerRetries(consumer: name, kind: "failure")
    }

    public func run() async throws {
        guard await cancelWhenGracefulShutdown({ await self.gate.wait() }) else { return }
        let consumer = try KafkaConsumer(configuration: kafka, topics: subscription.topics, logger: logger)
        do {
            // A stop is bounded: a handler stuck in a call that does not heed cancellation must not
            // hold the process (its transaction, if it ever ends, is kept or rolled back whole).
            try await BoundedStop.run("consumer \(subscription.consumerName)", logger: logger) {
                while !Task.isCancelled {
                    let batch = try await consumer.poll(maxMessages: Self.batchSize, timeoutMs: Self.pollTimeoutMs)
                    try await self.processConcurrently(batch, consumer: consumer)
                }
            }
        } catch is CancellationError {
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    /// At most this many messages per poll.
    static let batchSize = 256
    /// How long a poll waits for the first message: a message wakes it at once, so this only sets
    /// how often an idle consumer wakes (and how soon it notices a stop): twice a second.
    static let pollTimeoutMs: Int32 = 500

    /// Partitions are independent (an account's events share one partition), so each partition's
    /// messages of a batch run in order on their own task while partitions proceed side by side;
    /// each offset is stored only after its message's transaction committed.
    /// A poll of several messages is first applied in one transaction (`applyTogether`); only
    /// when that cannot be (a record to dead-letter, a handler's refusal, a failure) are they
    /// processed one by one as below.
    func processConcurrently(_ batch: [KafkaMessage], consumer: KafkaConsumer) async throws {
        guard !batch.isEmpty else { return }
        let partitions = Dictionary(grouping: batch) { PartitionKey(topic: $0.topic, partition: $0.partition) }.values
        @Sendable func measureLag(_ messages: [KafkaMessage]) {
            if let last = messages.last, let end = consumer.cachedEndOffset(topic: last.topic, partition: last.partition) {
                HPFMetrics.consumerLag(consumer: subscription.consumerName, topic: last.topic, partition: last.partition)
                    .set(Double(max(0, end - last.offset - 1)))
            }
        }
        if batch.count > 1, try await applyTogether(batch) {
            for message in batch { try consumer.storeOffset(message) }
            for messages in partitions { measureLag(messages) }
            return
        }
        @Sendable func drain(_ messages: [KafkaMessage]) async throws {
            for message in messages {
                try await process(message)
                try consumer.storeOffset(message)
            }
            measureLag(messages)
        }
        // One partition (the common case on a quiet topic) needs no task group.
        if partitions.count == 1, let only = partitions.first { return try await drain(only) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for messages in partitions { group.addTask { try await drain(messages) } }
            try await group.waitForAll()
        }
    }

    /// Waits between retries of a transient database error: 0.1 s doubling, at most 5 s.
    static func backoff(_ attempt: Int) -> Duration { .seconds(min(0.05 * pow(2, Double(min(attempt, 7))), 5)) }

    struct PartitionKey: Hashable {
        let topic: String
        let partition: Int32
    }

    public enum Outcome: Sendable {
        case processed, duplicate, skipped, deadLettered

        /// As logs and the redrive route write it.
        public var name: String {
            switch self {
            case .processed: "processed"
            case .duplicate: "duplicate"
            case .skipped: "skipped"
            case .deadLettered: "dead_lettered"
            }
        }
    }

    /// Processes one message to a final outcome. Throws only on cancellation.
    @discardableResult
    public func process(_ message: KafkaMessage) async throws -> Outcome {
        // On an internal topic, a record of a known type this consumer has no handler for is
        // skipped first: nothing is done with it, so its signature need not be checked (an
        // Ed25519 verification for every record of a shared topic, most of which a service does
        // not read). A feed with its own check (the partner feed) checks and answers every record.
        let parsed = try? CloudEventCoding.header(from: message.value)
        if subscription.verify == nil, let parsed, EventType(rawValue: parsed.type) != nil, handlers[parsed.type] == nil { return .skipped }
        // The handling is a span of the writer's trace: the events it writes carry the trace on.
        let propagation = W3CTracePropagation()
        let span = propagation.span(continuing: propagation.parent(of: message))
        let started = ContinuousClock.now
        let outcome = try await TraceParent.withSpan(span) { try await handle(message, parsed: parsed) }
        logOutcome(outcome, message, parsed: parsed, span: span, took: ContinuousClock.now - started)
        return outcome
    }

    /// The event's line (at info; a dead letter at warning). Its fields are built only when the
    /// line is written: the hot path logs at info.
    func logOutcome(_ outcome: Outcome, _ message: KafkaMessage, parsed: CloudEventHeader?, span: TraceParent, took: Duration) {
        let level: Logger.Level = outcome == .deadLettered ? .warning : .info
        guard outcome != .skipped, logger.logLevel <= level else { return }
        // The record's own fields are the writer's (perhaps hostile): bounded on the line.
        func bounded(_ text: String?) -> String { text.map { String($0.prefix(100)) } ?? "-" }
        var metadata: Logger.Metadata = [
            "consumer": "\(subscription.consumerName)", "event_id": "\(bounded(parsed?.id))", "type": "\(bounded(parsed?.type))",
            "account": "\(bounded(message.keyString))", "topic": "\(message.topic)", "partition": "\(message.partition)",
            "offset": "\(message.offset)", "outcome": "\(outcome.name)", "trace_id": "\(span.traceID)",
        ]
        metadata["duration_ms"] = "\(RequestLogMiddleware.milliseconds(took))"
        logger.log(level: level, "event", metadata: metadata)
    }

    private func handle(_ message: KafkaMessage, parsed: CloudEventHeader?) async throws -> Outcome {
        // The writer's signature before anything acts on the record (`EventSignature`).
        if subscription.verifiesWriter, let rejection = eventKeys.rejection(of: message) {
            return try await deadLetter(message, eventID: nil, reason: rejection.reason, detail: rejection.detail)
        }
        if let verify = subscription.verify {
            let rejection: EventRejection?
            do {
                rejection = try await whileDatabaseAway("verify", { try await verify(message) })
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A record the check itself cannot handle (a header Postgres refuses, say) is refused too.
                rejection = EventRejection(reason: .unverified, detail: "verification_failed: \(error)")
            }
            if let rejection { return try await deadLetter(message, eventID: nil, reason: rejection.reason, detail: rejection.detail) }
        }
        let header: CloudEventHeader
        do {
            header = try parsed ?? CloudEventCoding.header(from: message.value)
        } catch {
            return try await deadLetter(message, eventID: nil, reason: .malformedEvent, detail: "\(error)")
        }
        guard EventType(rawValue: header.type) != nil else {
            return try await deadLetter(message, eventID: header.id, type: header.type, reason: .unknownEventType, detail: "unknown type \(header.type)")
        }
        guard let handler = handlers[header.type] else { return .skipped }

        var attempt = 0, failures = 0
        let started = ContinuousClock.now
        while true {
            try Task.checkCancellation()
            attempt += 1
            do {
                let writes = OutboxWrites()
                let outcome = try await OutboxWrites.$current.withValue(writes) {
                    try await database.transaction { connection -> Outcome in
                        guard try await self.claim(eventID: header.id, key: message.keyString, outcome: "processed", on: connection) else { return .duplicate }
                        let beforeCommit = BeforeCommit()
                        let db = self.context(on: connection, eventID: header.id, beforeCommit: beforeCommit)
                        try await handler.handle(message.value, db)
                        try await beforeCommit.run(in: db)
                        return .processed
                    }
                }
                HPFMetrics.handlerDuration(consumer: subscription.consumerName, type: header.type).record(ContinuousClock.now - started)
                if outcome == .duplicate {
                    duplicates.increment()
                    if subscription.deadLetterDuplicates {
                        return try await deadLetter(message, eventID: nil, reason: .duplicateEvent, detail: "event id \(header.id) was already processed")
                    }
                } else {
                    processed.increment()
                    if writes.wroteAny { signal.notify() }
                }
                return outcome
            } catch let rejection as EventRejection {
                return try await deadLetter(message, eventID: header.id, type: header.type, reason: rejection.reason, detail: rejection.detail)
            } catch is CancellationError {
                throw CancellationError()
            } catch  where DatabaseErrors.isTransient(error) {
                // Postgres away (however long): the partition waits and nothing is dead-lettered.
                logWait("apply", attempt: attempt, error: error)
                transientRetries.increment()
                try await Task.sleep(for: Self.backoff(attempt))
            } catch {
                // An unexpected failure: retry a few times, then keep the event on the
                // dead-letter topic rather than stall the partition for ever.
                failures += 1
                logger.error(
                    "event processing failed",
                    metadata: [
                        "attempt": "\(failures)", "type": "\(header.type)",
                        "error": "\(DatabaseErrors.summary(error))",
                    ])
                if failures >= 5 {
                    return try await deadLetter(
                        message, eventID: header.id, type: header.type, reason: .processingFailed,
                        detail: "processing failed after \(failures) attempts: \(DatabaseErrors.summary(error))")
                }
                failureRetries.increment()
                try await Task.sleep(for: .milliseconds(200 * failures))
            }
        }
    }

    /// A handler's context: the inbox transaction's connection, its steps before commit, and a
    /// logger that names the consumer and the event, so that whatever the handler logs says what
    /// it was handling.
    func context(on connection: PostgresConnection, eventID: String, beforeCommit: BeforeCommit) -> DatabaseContext {
        var logger = logger
        logger[metadataKey: "consumer"] = "\(subscription.consumerName)"
        logger[metadataKey: "event_id"] = "\(eventID.prefix(100))"
        return runtime.context(on: connection, logger: logger, beforeCommit: beforeCommit)
    }

    /// Records the event id for this consumer; false when it was already there (a duplicate).
    private func claim(eventID: String, key: String?, outcome: String, on connection: PostgresConnection) async throws -> Bool {
        // The key serves only the redrive's order check: a feed whose records are not kept (the
        // partner feed, whose writer chooses its keys) keeps none.
        let key = subscription.redact == nil ? DeadLetterStore.storable(key, limit: 500) : nil
        let rows = try await connection.execute(
            InboxClaim(consumer: subscription.consumerName, eventID: eventID, outcome: outcome, key: key),
            logger: logger)
        for try await _ in rows { return true }
        return false
    }

    private func deadLetter(
        _ message: KafkaMessage, eventID: String?, type: String? = nil, reason: DeadLetter.Reason,
        detail: String
    ) async throws -> Outcome {
        let letter = DeadLetter(
            consumer: subscription.consumerName, reason: reason, detail: String(detail.prefix(2000)),
            originalTopic: message.topic, originalPartition: message.partition, originalOffset: message.offset,
            originalKey: message.keyString, originalValue: subscription.redact?(message.value) ?? message.value)
        // Without a usable id the record's position identifies it.
        let position = "\(message.topic)/\(message.partition)/\(message.offset)"
        var inboxID = eventID ?? position
        var key = message.keyString ?? "unkeyed"
        var attempt = 0
        // Retried while the database is away: the partition must not move on before the letter is
        // safely in the outbox, and the service must not exit over it. A letter Postgres itself
        // refuses (an id or key it cannot store) is written once more under the record's position;
        // if even that fails, the position is logged and the partition moves on.
        while true {
            try Task.checkCancellation()
            attempt += 1
            do {
                let written = try await database.transaction { connection -> Bool in
                    guard try await self.claim(eventID: inboxID, key: key == "unkeyed" ? nil : key, outcome: "dead_lettered:\(reason.rawValue)", on: connection)
                    else { return false }
                    let event = CloudEvent(source: source, type: EventType.eventDeadLettered.rawValue, subject: key, data: letter)
                    try await Outbox.enqueue(event, topic: Topic.deadLetter.name, aggregateType: "dead_letter", on: connection, logger: logger)
                    // The record itself is kept for a redrive only where it may be (not a partner's: it can hold an ID number).
                    let kept = subscription.redact == nil ? message : nil
                    try await DeadLetterStore.record(
                        .init(
                            id: UUID(uuidString: event.id) ?? UUID(), letter: letter, inboxID: inboxID, eventID: eventID,
                            eventType: type, record: kept), on: connection, logger: logger)
                    try await subscription.answerRefusal?(message, reason, letter.detail, runtime.context(on: connection, logger: logger))
                    return true
                }
                if written {
                    // Logged once the letter is committed, never for one that was not written.
                    logger.warning(
                        "event dead-lettered",
                        metadata: ["reason": "\(reason.rawValue)", "detail": "\(letter.detail)", "topic": "\(message.topic)", "offset": "\(message.offset)"])
                    HPFMetrics.eventsDeadLettered(consumer: subscription.consumerName, reason: reason.rawValue).increment()
                    signal.notify()
                }
                return .deadLettered
            } catch is CancellationError {
                throw CancellationError()
            } catch  where DatabaseErrors.isTransient(error) {
                logWait("dead-letter", attempt: attempt, error: error)
                try await Task.sleep(for: Self.backoff(attempt))
            } catch {
                guard inboxID != position || key != "unkeyed" else {
                    logger.critical(
                        "event could not be dead-lettered; skipped",
                        metadata: [
                            "topic": "\(message.topic)", "partition": "\(message.partition)", "offset": "\(message.offset)",
                            "error": "\(String(reflecting: error))",
                        ])
                    return .deadLettered
                }
                (inboxID, key) = (position, "unkeyed")
            }
        }
    }

    /// Runs `work` until the database answers: transient errors are retried with backoff for as
    /// long as they last; others are thrown.
    private func whileDatabaseAway<T>(_ step: String, _ work: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await work()
            } catch  where DatabaseErrors.isTransient(error) && !(error is CancellationError) {
                logWait(step, attempt: attempt, error: error)
                try await Task.sleep(for: Self.backoff(attempt))
            }
        }
    }

    /// The first failed attempt and every twentieth after it are logged (about one line every
    /// 100 s of an outage), not one line per retry.
    private func logWait(_ step: String, attempt: Int, error: any Error) {
        guard attempt == 1 || attempt % 20 == 0 else { return }
        logger.warning(
            "database unavailable; event waits",
            metadata: [
                "consumer": "\(subscription.consumerName)", "step": "\(step)", "attempt": "\(attempt)", "error": "\(String(reflecting: error))",
            ])
    }
}
