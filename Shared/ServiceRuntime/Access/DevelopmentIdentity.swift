import Crypto
import Foundation
import Policy

/// The development identity provider and channel keys of the local and test stacks. Their
/// private keys are derived from public passphrases, so anyone can mint with them: services accept
/// them only when `HPF_ENV=development`, and refuse to start elsewhere if one is configured.
public enum DevelopmentIdentity {
    public static let issuer = "https://idp.dev.hpf.lyg.example"
    public static let audience = "hpf"
    public static let keyId = "hpf-dev-idp-1"

    /// A 32-byte seed is always a valid Ed25519 private key.
    static func derivedKey(_ passphrase: String) -> Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(SHA256.hash(data: Data(passphrase.utf8))))
    }

    public static let providerKey = derivedKey("hpf-dev-identity-provider")

    /// A channel's development signing key and its key id.
    public static func channelKey(_ channel: String) -> (keyId: String, key: Curve25519.Signing.PrivateKey) {
        ("\(channel)-dev-1", catalogueChannelKeys[channel] ?? derivedChannelKey(channel))
    }

    /// The catalogue's channel keys, derived once: deriving one computes its public half (a
    /// scalar multiplication, as dear as a signature), and a development stack checked, and the
    /// load generator signed, every request with a key derived for it (about 6 % of hpfctl's CPU
    /// in `make bench`).
    private static let catalogueChannelKeys: [String: Curve25519.Signing.PrivateKey] = Dictionary(
        uniqueKeysWithValues: ChannelCatalogue.kinds.keys.map { ($0, derivedChannelKey($0)) })

    private static func derivedChannelKey(_ channel: String) -> Curve25519.Signing.PrivateKey {
        derivedKey("hpf-dev-channel-key-\(channel)")
    }

    /// Whether `key` is one of the public development keys (never acceptable outside development).
    public static func isDevelopmentKey(_ key: IdentityProvider.PublicKey) -> Bool {
        guard case .ed25519(let ed) = key else { return false }
        return ed.rawRepresentation == providerKey.publicKey.rawRepresentation
            || ChannelCatalogue.kinds.keys.contains { channelKey($0).key.publicKey.rawRepresentation == ed.rawRepresentation }
    }

    /// A citizen's token, as the city's app would hold it after real-name verification.
    public static func citizenToken(idNumber: String, lifetime: TimeInterval = 3600, now: Date = Date()) -> String {
        sign(["sub": "citizen-\(String(idNumber.suffix(4)))", "id_number": idNumber], lifetime: lifetime, now: now)
    }

    /// A staff member's token with their roles.
    public static func staffToken(staffId: String, roles: [StaffRole], lifetime: TimeInterval = 3600, now: Date = Date()) -> String {
        sign(["sub": staffId, "staff_id": staffId, "roles": roles.map(\.rawValue)], lifetime: lifetime, now: now)
    }

    /// Signs arbitrary claims (tests forge expired, foreign or malformed tokens with it).
    public static func sign(
        _ claims: [String: Any], lifetime: TimeInterval = 3600, now: Date = Date(),
        key: Curve25519.Signing.PrivateKey = providerKey, keyId: String = keyId,
        issuer: String = issuer, audience: String = audience
    ) -> String {
        var all: [String: Any] = [
            "iss": issuer, "aud": audience, "iat": Int(now.timeIntervalSince1970),
            "nbf": Int(now.timeIntervalSince1970), "exp": Int(now.timeIntervalSince1970 + lifetime),
        ]
        for (name, value) in claims { all[name] = value }
        let header = try! JSONSerialization.data(withJSONObject: ["alg": "EdDSA", "typ": "JWT", "kid": keyId], options: [.sortedKeys])
        let payload = try! JSONSerialization.data(withJSONObject: all, options: [.sortedKeys])
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let signature = try! key.signature(for: Data(input.utf8))
        return input + "." + Base64URL.encode(signature)
    }
}
