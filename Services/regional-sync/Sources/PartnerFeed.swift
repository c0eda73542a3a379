import Contracts
import Crypto
import Foundation
import Kafka
import Policy
import PostgresNIO
import ServiceRuntime

/// The partner feed (§17): what we write to each city on its own `hpf.regional.partner-outbound.<city>.v1`
/// (signed with our key through the outbox, so a message leaves exactly when its state change commits) and the
/// signed messages partner cities write on `hpf.regional.partner-inbound.v1`. An inbound message
/// is checked before anything reads it: a known, unrevoked key of the city its `source` names,
/// a signing time inside the window and a signature over the exact bytes; anything else, and any
/// id seen before, goes to the dead-letter topic and changes nothing.
struct PartnerFeed: Sendable {
    let runtime: ServiceRuntime
    let keyId: String
    let key: Curve25519.Signing.PrivateKey
    /// The key partners seal personal fields to (HPKE), under its key id.
    let decryptionKeyId: String
    let decryptionKey: Curve25519.KeyAgreement.PrivateKey

    init(runtime: ServiceRuntime) {
        self.runtime = runtime
        keyId = runtime.config.partnerKeyId
        key = Self.signingKey(runtime.config, city: runtime.parameters.cityCode.value)
        decryptionKeyId = runtime.config.partnerDecryptionKeyId
        decryptionKey =
            Data(base64Encoded: runtime.config.partnerDecryptionKey)
            .flatMap { try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: $0) }
            ?? PartnerSealing.developmentKey(city: runtime.parameters.cityCode.value)
    }

    /// Our public keys as our entry in the partner list shows them: partners verify our messages
    /// with the first and seal the people in their contact letters to the second.
    var ownKeys: [PartnerRegistry.Key] {
        [
            .init(keyId: keyId, use: .signing, publicKey: publicKey, revoked: false),
            .init(keyId: decryptionKeyId, use: .encryption, publicKey: decryptionKey.publicKey.rawRepresentation.base64EncodedString(), revoked: false),
        ]
    }

    /// The name and ID number of a partner's contact letter: opened from `personal` (sealed to
    /// our key), or the deprecated clear fields. A letter with neither, or both, is refused.
    func personalFields(of letter: TransferApplication) throws -> PersonalFields {
        switch (letter.personal, letter.name, letter.idNumber) {
        case (let sealed?, nil, nil):
            do {
                return try PartnerSealing.open(sealed, letterNumber: letter.letterNumber, keys: [decryptionKeyId: decryptionKey])
            } catch {
                throw EventRejection(detail: "\(error.rawValue): the personal fields do not open with our key \(decryptionKeyId) for this letter")
            }
        case (nil, let name?, let idNumber?):
            return PersonalFields(name: name, idNumber: idNumber)
        default:
            throw EventRejection(
                reason: .invalidPayload, detail: "the letter must carry its personal fields sealed in `personal` (and no clear name or idNumber)")
        }
    }

    /// Our signing key: from configuration, or the development key of our city code.
    static func signingKey(_ config: ServiceConfig, city: String) -> Curve25519.Signing.PrivateKey {
        if let raw = Data(base64Encoded: config.partnerSigningKey), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) {
            return key
        }
        return PartnerSignature.developmentKey(city: city)
    }

    var publicKey: String { key.publicKey.rawRepresentation.base64EncodedString() }

    var ourCity: String { runtime.parameters.cityCode.value }

    /// A border-region partner city other than us (§17).
    func isPartner(_ city: String) -> Bool { city != ourCity && runtime.parameters.borderPartners.value.contains { $0.code == city } }

    /// Sends a partner message in the caller's transaction. `account` is our account number (the
    /// subject); the record key is the letter number, so every message about one letter stays in
    /// order. The relay signs it when it publishes it (`signer`), so the signing time is the
    /// sending time even if the broker was away for a while. Partner messages may carry a
    /// resident ID number, so their outbox rows are deleted once delivered.
    func send<P: Codable & PartnerAddressed>(
        _ type: EventType, _ data: P, letter: String, account: String,
        in db: DatabaseContext
    ) async throws {
        let event = CloudEvent(source: PartnerMessage.source(city: ourCity), type: type.rawValue, subject: account, data: data)
        // Only the city the letter names reads it: each city has its own outbound topic.
        try await Outbox.enqueue(
            event, topic: Topic.partnerOutbound(city: data.partnerCity(ourCity: ourCity)), aggregateType: Outbox.personalData,
            key: letter, on: db.connection, logger: db.logger)
    }

    /// Every partner city's outbound topic (created at start, like the catalogue's).
    var outboundTopics: [String] {
        runtime.parameters.borderPartners.value.map(\.code).filter(isPartner).map { Topic.partnerOutbound(city: $0) }
    }

    /// Signs what the relay publishes on the partner-outbound topics, over its exact bytes, now.
    var signer: OutboxRelay.Signer {
        let (keyId, key) = (keyId, key)
        return { topic, value in
            guard Topic.partnerCity(outboundTopic: topic) != nil else { return nil }
            return try PartnerSignature.fields(for: value, keyId: keyId, key: key, at: Date())
        }
    }

    /// The inbound subscription: verification first, replays refused, then the transfer handlers.
    func subscription(transfersIn: TransfersIn, transfersOut: TransfersOut) -> EventSubscription {
        EventSubscription(
            consumerName: "partner-inbound", topics: [.partnerInbound],
            handlers: [
                .on(.transferApplication, TransferApplication.self) { event, db in
                    try await transfersOut.applied(event.data, from: try partner(event), in: db)
                },
                .on(.transferAccepted, TransferAnswer.self) { event, db in
                    try await transfersIn.accepted(event.data, from: try partner(event), in: db)
                },
                .on(.transferRefused, TransferAnswer.self) { event, db in
                    try await transfersIn.refused(event.data, from: try partner(event), in: db)
                },
                .on(.transferOutData, TransferOutData.self) { event, db in
                    try await transfersIn.dataArrived(event.data, from: try partner(event), in: db)
                },
                .on(.transferConfirmed, TransferOutcome.self) { event, db in
                    try await transfersOut.confirmed(event.data, from: try partner(event), in: db)
                },
                .on(.transferFailed, TransferOutcome.self) { event, db in
                    try await transfersOut.failed(event.data, from: try partner(event), in: db)
                },
                .on(.transferDisputed, TransferOutcome.self) { event, db in
                    try await transfersOut.disputed(event.data, from: try partner(event), in: db)
                },
                .on(.transferCancelled, TransferOutcome.self) { event, db in
                    try await transfersOut.cancelled(event.data, from: try partner(event), in: db)
                },
            ], verify: { message in try await verify(message) }, deadLetterDuplicates: true, redact: ResidentIDRedaction.mask,
            answerRefusal: { message, reason, detail, db in try await answerRefusal(message, reason: reason, detail: detail, in: db) })
    }

    /// Tells the writer of a refused message why, on its own outbound topic: the message's id,
    /// type and letter number as far as they could be read, and the refusal's code. A message
    /// that names no partner city (or us) has nobody to tell: only the dead letter keeps it.
    func answerRefusal(_ message: KafkaMessage, reason: DeadLetter.Reason, detail: String, in db: DatabaseContext) async throws {
        guard let header = try? CloudEventCoding.header(from: message.value), let city = PartnerMessage.city(fromSource: header.source),
            isPartner(city)
        else { return }
        struct Letter: Codable, Sendable { var letterNumber: String? }
        let letter = (try? JSONDecoder().decode(CloudEvent<Letter>.self, from: Data(message.value)))?.data.letterNumber
        // Signature refusals and the sealing codes lead their detail; anything else is named by its reason.
        let lead = String(detail.prefix { $0 != ":" })
        let code = reason == .unverified || Self.sealingCodes.contains(lead) ? lead : reason.rawValue
        // Echo only what identifies the message, bounded: never the refused payload itself.
        func bounded(_ text: String?, _ limit: Int) -> String? { text.map { String($0.prefix(limit)) } }
        // Our own failures stay ours: the partner hears that the message could not be processed, not why inside.
        let told = reason == .processingFailed || detail.hasPrefix("verification_failed") ? "the message could not be processed" : detail
        let refused = MessageRefused(
            messageId: bounded(header.id, 100), messageType: bounded(header.type, 100), letterNumber: bounded(letter, 40),
            toCity: city, fromCity: ourCity, code: code, detail: String(told.prefix(500)))
        let event = CloudEvent(
            source: PartnerMessage.source(city: ourCity), type: EventType.messageRefused.rawValue,
            subject: refused.letterNumber ?? refused.messageId ?? "unknown", data: refused)
        try await Outbox.enqueue(
            event, topic: Topic.partnerOutbound(city: city), aggregateType: "partner-refusal",
            key: refused.letterNumber ?? refused.messageId, on: db.connection, logger: db.logger)
    }

    /// The partner city a verified message comes from.
    private func partner<P>(_ event: CloudEvent<P>) throws -> String {
        guard let city = PartnerMessage.city(fromSource: event.source) else { throw EventRejection(detail: "source \(event.source) names no city") }
        return city
    }

    /// Nil when the message is signed by a current key of the city its `source` names.
    func verify(_ message: KafkaMessage) async throws -> EventRejection? {
        let keyId = message.headers.last { $0.name == PartnerSignature.keyIdHeader }.map { String(decoding: $0.value, as: UTF8.self) }
        var stored: (city: String, key: Curve25519.Signing.PublicKey, revokedAt: Date?, validUntil: Date?)?
        if let keyId {
            let rows = try await runtime.database.query(
                "SELECT partner_code, public_key, revoked_at, valid_until FROM partner_keys WHERE key_id = \(keyId) AND key_use = 'signing'")
            for try await (city, encoded, revokedAt, validUntil) in rows.decode((String, String, Date?, Date?).self) {
                if let raw = Data(base64Encoded: encoded), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) {
                    stored = (city, key, revokedAt, validUntil)
                }
            }
        }
        let checked = PartnerSignature.verify(value: message.value, headers: message.headers, now: Date()) { id in
            id == keyId ? stored?.key : nil
        }
        if case .failure(let refusal) = checked { return EventRejection(reason: .unverified, detail: refusal.rawValue) }
        // The signature holds; the key must still have been good when it signed.
        let signedAt = message.headers.last { $0.name == PartnerSignature.signedAtHeader }
            .flatMap { PartnerSignature.instant(String(decoding: $0.value, as: UTF8.self)) }
        // Signing times may carry whole seconds only: the second of the revocation counts as after it.
        if let revokedAt = stored?.revokedAt, let signedAt, signedAt >= Date(timeIntervalSince1970: revokedAt.timeIntervalSince1970.rounded(.down)) {
            return EventRejection(reason: .unverified, detail: "revoked_key: key \(keyId ?? "") was revoked at \(PartnerRegistry.text(revokedAt))")
        }
        if let validUntil = stored?.validUntil, let signedAt, signedAt > validUntil {
            return EventRejection(reason: .unverified, detail: "expired_key: key \(keyId ?? "") was valid until \(PartnerRegistry.text(validUntil))")
        }
        guard let header = try? CloudEventCoding.header(from: message.value),
            let city = PartnerMessage.city(fromSource: header.source), city == stored?.city
        else {
            return EventRejection(reason: .unverified, detail: "source_mismatch: the message's source is not the city whose key signed it")
        }
        guard isPartner(city) else {
            return EventRejection(reason: .unverified, detail: "unknown_partner: \(city)")
        }
        return nil
    }

    static let sealingCodes = Set([PartnerSealing.Refusal.unknownRecipientKey, .undecryptable].map(\.rawValue))

    /// Checks that a message's cities are the sender and us, in the roles its type gives them.
    static func requireCities(receiving: String, sending: String, expected: (receiving: String, sending: String)) throws {
        guard receiving == expected.receiving, sending == expected.sending else {
            throw EventRejection(
                detail: "the message names receiving city \(receiving) and sending city \(sending); expected \(expected.receiving) and \(expected.sending)")
        }
    }
}
