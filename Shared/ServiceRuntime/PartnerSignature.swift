import Crypto
import Foundation
import Kafka

/// §17 partner feed: every message on the partner topics is a structured CloudEvent whose exact
/// record-value bytes are signed with Ed25519. The signature covers `signedAt` + "\n" + the
/// value, so the timestamp cannot be swapped; it travels in three record headers:
/// `hpf-key-id` (which of the partner's keys, so keys can rotate), `hpf-signed-at` (any RFC 3339
/// instant with a zone, fractional seconds allowed; see `instant`) and
/// `hpf-signature` (base64). Replays (an id seen before) are caught by the consumer's inbox.
public enum PartnerSignature {
    public static let keyIdHeader = "hpf-key-id"
    public static let signedAtHeader = "hpf-signed-at"
    public static let signatureHeader = "hpf-signature"
    /// How far a message's signing time may be from our clock.
    public static let windowSeconds: TimeInterval = 300

    /// Why an inbound message is refused (the dead-letter reason's detail starts with it).
    public enum Refusal: String, Error, Sendable {
        case missingSignature = "missing_signature"
        case unknownKey = "unknown_key"
        case badSignature = "bad_signature"
        case staleTimestamp = "stale_timestamp"
        /// `hpf-signed-at` is not an RFC 3339 instant.
        case invalidTimestamp = "invalid_timestamp"
    }

    /// Reads `hpf-signed-at`: any RFC 3339 date-time with a time zone, with or without fractional
    /// seconds (`2026-12-02T07:04:55Z`, `2026-12-02T07:04:55.605Z` as JavaScript's `toISOString()`
    /// writes it, `2026-12-02T15:04:55.123456+08:00`); `t`/`z` in lower case too. Nil otherwise.
    public static func instant(_ text: String) -> Date? {
        guard (20...40).contains(text.utf8.count) else { return nil }
        let upper = text.uppercased()
        let whole = ISO8601DateFormatter()
        whole.formatOptions = [.withInternetDateTime]
        if let date = whole.date(from: upper) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: upper) { return date }
        // More than three fractional digits: the formatter reads milliseconds only, so the rest
        // (below a millisecond, far inside the window) is dropped before parsing.
        guard let dot = upper.firstIndex(of: "."), let zone = upper[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }),
            upper.distance(from: dot, to: zone) > 4, upper[upper.index(after: dot)..<zone].allSatisfy(\.isNumber)
        else { return nil }
        return fractional.date(from: String(upper[..<upper.index(dot, offsetBy: 4)] + upper[zone...]))
    }

    static func signedBytes(_ value: [UInt8], signedAt: String) -> [UInt8] { Array((signedAt + "\n").utf8) + value }

    /// The header values that sign `value` with `key` at `instant`.
    public static func fields(for value: [UInt8], keyId: String, key: Curve25519.Signing.PrivateKey, at instant: Date) throws -> [String: String] {
        let signedAt = ISO8601DateFormatter().string(from: instant)
        let signature = try key.signature(for: signedBytes(value, signedAt: signedAt))
        return [keyIdHeader: keyId, signedAtHeader: signedAt, signatureHeader: Data(signature).base64EncodedString()]
    }

    /// The same as record headers.
    public static func headers(for value: [UInt8], keyId: String, key: Curve25519.Signing.PrivateKey, at instant: Date) throws -> [KafkaHeader] {
        try fields(for: value, keyId: keyId, key: key, at: instant).sorted { $0.key < $1.key }.map { KafkaHeader(name: $0.key, value: $0.value) }
    }

    /// A city's deterministic development key (SHA-256 of a fixed passphrase as the seed): for
    /// development stacks and the partner simulator only; production keys come from configuration.
    public static func developmentKey(city: String) -> Curve25519.Signing.PrivateKey {
        DevelopmentIdentity.derivedKey("hpf-dev-partner-key-\(city)")
    }

    /// Checks a message's signature: the key id must name a known key (`publicKey`), the
    /// signing time must be within the window, and the signature must verify over the exact bytes.
    /// Returns the key id that signed it.
    public static func verify(
        value: [UInt8], headers: [KafkaHeader], now: Date,
        publicKey: (String) -> Curve25519.Signing.PublicKey?
    ) -> Result<String, Refusal> {
        func header(_ name: String) -> String? { headers.last { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) } }
        guard let keyId = header(keyIdHeader), let signedAt = header(signedAtHeader), let encoded = header(signatureHeader),
            let signature = Data(base64Encoded: encoded)
        else { return .failure(.missingSignature) }
        guard let key = publicKey(keyId) else { return .failure(.unknownKey) }
        guard let instant = instant(signedAt) else { return .failure(.invalidTimestamp) }
        guard abs(instant.timeIntervalSince(now)) <= windowSeconds else { return .failure(.staleTimestamp) }
        guard key.isValidSignature(signature, for: signedBytes(value, signedAt: signedAt)) else { return .failure(.badSignature) }
        return .success(keyId)
    }
}
