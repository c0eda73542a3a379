import Contracts
import Foundation
import Kafka
import PostgresNIO

/// A consumer's reaction to one event type, run inside the inbox transaction (its context's
/// logger names the consumer and the event).
public struct EventHandler: Sendable {
    public let type: EventType
    public let handle: @Sendable (_ event: [UInt8], _ db: DatabaseContext) async throws -> Void
    /// Applies a run of events of this type at once (consecutive in a consumer's poll, nothing
    /// else applied between them), with the effects `handle` would have one after another: one
    /// statement for the run instead of one per event (#15). Nil when the handler has no such form.
    public let handleRun: (@Sendable (_ events: [RunMember<[UInt8]>], _ db: DatabaseContext) async throws -> Void)?

    public init(
        type: EventType, handle: @escaping @Sendable ([UInt8], DatabaseContext) async throws -> Void,
        handleRun: (@Sendable ([RunMember<[UInt8]>], DatabaseContext) async throws -> Void)? = nil
    ) {
        self.type = type
        self.handle = handle
        self.handleRun = handleRun
    }

    /// Decodes the event's data as `Payload` and hands it to `body`; data that does not decode,
    /// or holds a value outside its `InputRange`, is rejected to the dead-letter topic as
    /// `invalid_payload`.
    public static func on<Payload: Codable & Sendable>(
        _ type: EventType, _ payload: Payload.Type,
        _ body: @escaping @Sendable (CloudEvent<Payload>, DatabaseContext) async throws -> Void
    ) -> EventHandler {
        EventHandler(type: type) { bytes, db in
            try await body(try checked(Payload.self, bytes), db)
        }
    }

    /// As `on`, for a handler that applies a run of events together (`handleRun`): `body` gets
    /// the run in its order (a single event alone, one message at a time or in a replay) and must
    /// leave what applying them one after another would. Each event is checked and decoded first,
    /// so a bad one rejects the run as it would reject itself alone. What one event sets off on
    /// its own (an event it emits) runs in `RunMember.alone`, under that event's trace.
    public static func on<Payload: Codable & Sendable>(
        _ type: EventType, _ payload: Payload.Type,
        together body: @escaping @Sendable ([RunMember<CloudEvent<Payload>>], DatabaseContext) async throws -> Void
    ) -> EventHandler {
        EventHandler(
            type: type,
            handle: { bytes, db in try await body([RunMember(event: try checked(Payload.self, bytes), context: db, span: nil)], db) },
            handleRun: { run, db in
                try await body(try run.map { RunMember(event: try checked(Payload.self, $0.event), context: $0.context, span: $0.span) }, db)
            })
    }

    /// Applies `events` (each of this handler's type, in their order) in `db`'s transaction: as one
    /// run where the handler has a run form, else one after another. A consumer's poll cuts its
    /// runs itself (`EventConsumerService.applyTogether`); this is the same for a caller that holds
    /// the events already (tests that compare a run with its events one at a time).
    public func apply(run events: [[UInt8]], in db: DatabaseContext) async throws {
        guard let handleRun, events.count > 1 else {
            for event in events { try await handle(event, db) }
            return
        }
        try await handleRun(events.map { RunMember(event: $0, context: db, span: nil) }, db)
    }

    /// Every number and date in range before anything reads it (`InputRange`): an event from a
    /// faulty or hostile producer goes to the dead-letter topic, never into a rule.
    static func checked<Payload: Codable & Sendable>(_ payload: Payload.Type, _ bytes: [UInt8]) throws -> CloudEvent<Payload> {
        let violations = RangeCheck.violations(in: Data(bytes))
        if !violations.isEmpty {
            throw EventRejection(reason: .invalidPayload, detail: "out of range: " + violations.map(\.description).joined(separator: "; "))
        }
        do {
            return try CloudEventCoding.decode(Payload.self, from: bytes)
        } catch {
            throw EventRejection(reason: .invalidPayload, detail: "\(error)")
        }
    }
}

/// One event of a run applied together (`EventHandler.on(_:_:together:)`), with its own
/// context and trace for what it sets off alone.
public struct RunMember<Event: Sendable>: Sendable {
    public let event: Event
    let context: DatabaseContext
    /// The event's span of its writer's trace; nil where the caller already runs under it.
    let span: TraceParent?

    /// Runs `work` under this event's own context (its logger names the event) and trace: what
    /// it emits continues the trace of the event that set it off, not the run's.
    public func alone<T>(_ work: (DatabaseContext) async throws -> T) async throws -> T {
        guard let span else { return try await work(context) }
        return try await TraceParent.withSpan(span) { try await work(context) }
    }
}

/// A consumer group reading some topics with its handlers.
public struct EventSubscription: Sendable {
    public let consumerName: String
    public let topics: [String]
    public let handlers: [EventHandler]
    /// Checks a record before anything else (a partner message's signature): a rejection sends
    /// it to the dead-letter topic untouched, recorded by its position so that a forged copy can
    /// never block the genuine event's id.
    public let verify: (@Sendable (KafkaMessage) async throws -> EventRejection?)?
    /// Whether an id seen before is dead-lettered (partner feed: replays are refused) rather
    /// than skipped (internal topics: redelivery is normal).
    public let deadLetterDuplicates: Bool
    /// Rewrites a record before a copy of it goes to the (internal) dead-letter topic: the
    /// partner feed masks resident ID numbers there.
    public let redact: (@Sendable ([UInt8]) -> [UInt8])?
    /// Whether each record must carry its topic writer's event signature (`EventSignature`).
    /// Always, for the services; only tests reading topics of their own make records without one.
    public let verifiesWriter: Bool
    /// Tells a record's writer that it was refused (the partner feed's `message-refused`), inside
    /// the transaction that records the dead letter: the answer leaves exactly once.
    public let answerRefusal:
        (
            @Sendable (
                _ message: KafkaMessage, _ reason: DeadLetter.Reason, _ detail: String,
                _ db: DatabaseContext
            ) async throws -> Void
        )?

    public init(
        consumerName: String, topics: [Topic], handlers: [EventHandler],
        verify: (@Sendable (KafkaMessage) async throws -> EventRejection?)? = nil, deadLetterDuplicates: Bool = false,
        redact: (@Sendable ([UInt8]) -> [UInt8])? = nil,
        answerRefusal: (@Sendable (KafkaMessage, DeadLetter.Reason, String, DatabaseContext) async throws -> Void)? = nil
    ) {
        self.init(
            consumerName: consumerName, topicNames: topics.map(\.name), handlers: handlers, verify: verify,
            deadLetterDuplicates: deadLetterDuplicates, redact: redact, answerRefusal: answerRefusal)
    }

    public init(
        consumerName: String, topicNames: [String], handlers: [EventHandler],
        verify: (@Sendable (KafkaMessage) async throws -> EventRejection?)? = nil, deadLetterDuplicates: Bool = false,
        redact: (@Sendable ([UInt8]) -> [UInt8])? = nil, verifiesWriter: Bool = true,
        answerRefusal: (@Sendable (KafkaMessage, DeadLetter.Reason, String, DatabaseContext) async throws -> Void)? = nil
    ) {
        self.verifiesWriter = verifiesWriter
        self.answerRefusal = answerRefusal
        self.consumerName = consumerName
        self.topics = topicNames
        self.handlers = handlers
        self.verify = verify
        self.deadLetterDuplicates = deadLetterDuplicates
        self.redact = redact
    }
}

/// Thrown by a handler when an event breaks a rule: the event goes to the dead-letter topic with
/// this reason and the partition moves on.
public struct EventRejection: Error, Sendable {
    public let reason: DeadLetter.Reason
    public let detail: String
    public init(reason: DeadLetter.Reason = .ruleViolation, detail: String) {
        self.reason = reason
        self.detail = detail
    }
}
