import Contracts
import Crypto
import Foundation
import Kafka

/// Events are authenticated, not just well-formed: anyone who can write to the broker could
/// otherwise credit money (a forged `subsidy-granted` record did). Every service signs what its
/// relay publishes with its own Ed25519 event key; the signature covers the topic and the exact
/// record value (`topic + "\n" + value`, so a record cannot be moved to another topic) and travels
/// in two headers, `hpf-event-key-id` and `hpf-event-signature`. Every consumer checks, before
/// anything reads the event, that the key is known, that the service it belongs to is the one
/// that writes the topic (any service may write the dead-letter topic) and that the signature
/// verifies. Keys are configuration and rotate by adding: a service signs with one key and
/// verifies with every key it is given.
public enum EventSignature {
    public static let keyIdHeader = "hpf-event-key-id"
    public static let signatureHeader = "hpf-event-signature"

    /// The services that publish internal topics, by the name their descriptors carry.
    public static let services = ["enrolment", "contribution", "subsidy", "withdrawal", "loan", "regional-sync"]

    /// Who may write a topic.
    public enum Writer: Equatable, Sendable {
        case service(String)
        /// Any of the suite's services (the dead-letter topic).
        case anyService
        /// Not an internal topic: partner messages carry the partner's own signature.
        case partner
    }

    public static func writer(of topic: String) -> Writer {
        switch Topic(rawValue: topic) {
        case .enrolmentEvents: .service("enrolment")
        case .contributionEvents: .service("contribution")
        case .subsidyEvents: .service("subsidy")
        case .withdrawalEvents, .payoutInstructions: .service("withdrawal")
        case .loanEvents: .service("loan")
        case .regionalEvents, .transferPayoutInstructions: .service("regional-sync")
        case .partnerInbound: .partner
        case .deadLetter, nil: topic.hasPrefix(Topic.partnerOutboundPrefix) ? .partner : .anyService
        }
    }

    static func signedBytes(topic: String, value: [UInt8]) -> [UInt8] { Array((topic + "\n").utf8) + value }

    /// The headers that sign `value` on `topic`.
    public static func fields(topic: String, value: [UInt8], keyId: String, key: Curve25519.Signing.PrivateKey) throws -> [String: String] {
        let signature = try key.signature(for: signedBytes(topic: topic, value: value))
        return [keyIdHeader: keyId, signatureHeader: Data(signature).base64EncodedString()]
    }

    /// A service's deterministic development key and its id: development stacks only.
    public static func developmentKey(service: String) -> Curve25519.Signing.PrivateKey {
        DevelopmentIdentity.derivedKey("hpf-dev-event-key-\(service)")
    }

    public static func developmentKeyId(service: String) -> String { "\(service)-dev-1" }

    public static func isDevelopmentKey(_ key: Curve25519.Signing.PublicKey) -> Bool {
        services.contains { developmentKey(service: $0).publicKey.rawRepresentation == key.rawRepresentation }
    }
}

/// The event keys a service accepts: key id → the service it belongs to and its public key.
public struct EventKeyring: Sendable {
    public struct Entry: Sendable {
        public let service: String
        public let key: Curve25519.Signing.PublicKey
    }

    public let entries: [String: Entry]

    public init(entries: [String: Entry]) { self.entries = entries }

    /// `HPF_EVENT_KEYS`: `[{"keyId":"contribution-2026-1","service":"contribution","publicKey":"<base64 raw Ed25519>"}]`.
    public static func parse(_ json: String) throws -> [String: Entry] {
        struct Item: Decodable { var keyId: String; var service: String; var publicKey: String }
        guard let items = try? JSONDecoder().decode([Item].self, from: Data(json.utf8)) else {
            throw ConfigurationError(variable: "HPF_EVENT_KEYS", reason: "is not a JSON list of {keyId, service, publicKey}")
        }
        var entries: [String: Entry] = [:]
        for item in items {
            guard !item.keyId.isEmpty, EventSignature.services.contains(item.service) else {
                throw ConfigurationError(
                    variable: "HPF_EVENT_KEYS",
                    reason: "key \(item.keyId): needs a key id and one of the services \(EventSignature.services.joined(separator: ", "))")
            }
            guard let raw = Data(base64Encoded: item.publicKey), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw ConfigurationError(variable: "HPF_EVENT_KEYS", reason: "key \(item.keyId): publicKey is not a base64 raw Ed25519 public key")
            }
            entries[item.keyId] = Entry(service: item.service, key: key)
        }
        return entries
    }

    /// The development keys of every service (development stacks).
    public static var development: [String: Entry] {
        Dictionary(
            uniqueKeysWithValues: EventSignature.services.map {
                (EventSignature.developmentKeyId(service: $0), Entry(service: $0, key: EventSignature.developmentKey(service: $0).publicKey))
            })
    }

    /// Why `message` cannot be trusted, or nil when its signature is a known key of the topic's
    /// writer. Partner topics are left to the partner feed's own verification.
    public func rejection(of message: KafkaMessage) -> EventRejection? {
        let writer = EventSignature.writer(of: message.topic)
        if writer == .partner { return nil }
        func header(_ name: String) -> String? { message.headers.last { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) } }
        guard let keyId = header(EventSignature.keyIdHeader), let encoded = header(EventSignature.signatureHeader),
            let signature = Data(base64Encoded: encoded)
        else {
            return EventRejection(reason: .unverified, detail: "missing_signature: the record carries no event signature")
        }
        guard let entry = entries[keyId] else {
            return EventRejection(reason: .unverified, detail: "unknown_key: event key \(keyId) is not configured")
        }
        if case .service(let owner) = writer, entry.service != owner {
            return EventRejection(
                reason: .unverified, detail: "not_topic_writer: key \(keyId) belongs to \(entry.service), which does not write \(message.topic)")
        }
        guard entry.key.isValidSignature(signature, for: EventSignature.signedBytes(topic: message.topic, value: message.value)) else {
            return EventRejection(reason: .unverified, detail: "bad_signature: the event signature does not verify")
        }
        return nil
    }
}
