import Contracts
import Crypto
import Foundation

/// §17 partner feed, personal fields: a contact letter's name and resident ID number are sealed
/// to the receiving centre's registered X25519 key with HPKE (RFC 9180, base mode; see
/// `SealedPersonalData` for the suite, `info` and additional data), so a partner topic carries
/// them readable by that centre only, whoever else the broker lets read the topic.
public enum PartnerSealing {
    static let ciphersuite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly
    static let info = Data("hpf-partner-personal-data/v1".utf8)

    /// A centre's public encryption key under its key id.
    public struct RecipientKey: Sendable {
        public let keyId: String
        public let key: Curve25519.KeyAgreement.PublicKey

        public init(keyId: String, key: Curve25519.KeyAgreement.PublicKey) {
            self.keyId = keyId
            self.key = key
        }
    }

    /// Why a sealed box could not be opened (the refusal code a partner hears).
    public enum Refusal: String, Error, Sendable {
        /// The box names a key id we hold no private key for.
        case unknownRecipientKey = "unknown_recipient_key"
        /// Not our suite, not base64, or the box does not open with our key and this letter number.
        case undecryptable = "undecryptable_personal_data"
    }

    /// Seals `fields` to `recipient` for the letter `letterNumber`. Each call uses a fresh
    /// ephemeral key, so the same person sealed twice gives unrelated boxes.
    public static func seal(_ fields: PersonalFields, to recipient: RecipientKey, letterNumber: String) throws -> SealedPersonalData {
        var sender = try HPKE.Sender(recipientKey: recipient.key, ciphersuite: ciphersuite, info: info)
        let plaintext = try JSONEncoder().encode(fields)
        let ciphertext = try sender.seal(plaintext, authenticating: Data(letterNumber.utf8))
        return SealedPersonalData(
            keyId: recipient.keyId, encapsulatedKey: sender.encapsulatedKey.base64EncodedString(),
            ciphertext: ciphertext.base64EncodedString())
    }

    /// Opens a box sealed to one of `keys` (our private keys by key id) for `letterNumber`.
    public static func open(
        _ sealed: SealedPersonalData, letterNumber: String,
        keys: [String: Curve25519.KeyAgreement.PrivateKey]
    ) throws(Refusal) -> PersonalFields {
        guard let key = keys[sealed.keyId] else { throw .unknownRecipientKey }
        // A box is a few hundred bytes: anything far larger is refused before any work.
        guard sealed.suite == SealedPersonalData.suiteName, sealed.ciphertext.utf8.count <= 4096,
            let encapsulated = Data(base64Encoded: sealed.encapsulatedKey), encapsulated.count == 32,
            let ciphertext = Data(base64Encoded: sealed.ciphertext)
        else { throw .undecryptable }
        do {
            var recipient = try HPKE.Recipient(privateKey: key, ciphersuite: ciphersuite, info: info, encapsulatedKey: encapsulated)
            let plaintext = try recipient.open(ciphertext, authenticating: Data(letterNumber.utf8))
            return try JSONDecoder().decode(PersonalFields.self, from: plaintext)
        } catch {
            throw .undecryptable
        }
    }

    /// A city's deterministic development encryption key (SHA-256 of a fixed passphrase): for
    /// development stacks and the partner simulator only; production keys come from configuration.
    public static func developmentKey(city: String) -> Curve25519.KeyAgreement.PrivateKey {
        try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Data(SHA256.hash(data: Data("hpf-dev-partner-encryption-key-\(city)".utf8))))
    }

    /// Reads a base64 raw 32-byte X25519 public key.
    public static func publicKey(base64 text: String) -> Curve25519.KeyAgreement.PublicKey? {
        Data(base64Encoded: text).flatMap { try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: $0) }
    }
}
