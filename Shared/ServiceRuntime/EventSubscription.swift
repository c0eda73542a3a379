import Contracts
import Foundation
import Kafka
import PostgresNIO

/// A consumer's reaction to one event type, run inside the inbox transaction (its context's
/// logger names the consumer and the event).
public struct EventHandler: Sendable {
    public let type: EventType
    public let handle: @Sendable (_ event: [UInt8], _ db: DatabaseContext) async throws -> Void

    /// Decodes the event's data as `Payload` and hands it to `body`; data that does not decode,
    /// or holds a value outside its `InputRange`, is rejected to the dead-letter topic as
    /// `invalid_payload`.
    public static func on<Payload: Codable & Sendable>(
        _ type: EventType, _ payload: Payload.Type,
        _ body: @escaping @Sendable (CloudEvent<Payload>, DatabaseContext) async throws -> Void
    ) -> EventHandler {
        EventHandler(type: type) { bytes, db in
            // Every number and date in range before anything reads it (`InputRange`): an event
            // from a faulty or hostile producer goes to the dead-letter topic, never into a rule.
            let violations = RangeCheck.violations(in: Data(bytes))
            if !violations.isEmpty {
                throw EventRejection(reason: .invalidPayload, detail: "out of range: " + violations.map(\.description).joined(separator: "; "))
            }
            let event: CloudEvent<Payload>
            do {
                event = try CloudEventCoding.decode(Payload.self, from: bytes)
            } catch {
                throw EventRejection(reason: .invalidPayload, detail: "\(error)")
            }
            try await body(event, db)
        }
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
