import Contracts
import Foundation
import PostgresNIO

/// A consumer's reaction to one event type, run inside the inbox transaction.
public struct EventHandler: Sendable {
    public let type: EventType
    public let handle: @Sendable (_ event: [UInt8], _ connection: PostgresConnection) async throws -> Void

    /// Decodes the event's data as `Payload` and hands it to `body`; data that does not decode
    /// is rejected to the dead-letter topic as `invalid_payload`.
    public static func on<Payload: Codable & Sendable>(
        _ type: EventType, _ payload: Payload.Type,
        _ body: @escaping @Sendable (CloudEvent<Payload>, PostgresConnection) async throws -> Void
    ) -> EventHandler {
        EventHandler(type: type) { bytes, connection in
            let event: CloudEvent<Payload>
            do {
                event = try CloudEventCoding.decode(Payload.self, from: bytes)
            } catch {
                throw EventRejection(reason: .invalidPayload, detail: "\(error)")
            }
            try await body(event, connection)
        }
    }
}

/// A consumer group reading some topics with its handlers.
public struct EventSubscription: Sendable {
    public let consumerName: String
    public let topics: [String]
    public let handlers: [EventHandler]

    public init(consumerName: String, topics: [Topic], handlers: [EventHandler]) {
        self.init(consumerName: consumerName, topicNames: topics.map(\.name), handlers: handlers)
    }

    public init(consumerName: String, topicNames: [String], handlers: [EventHandler]) {
        self.consumerName = consumerName
        self.topics = topicNames
        self.handlers = handlers
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
