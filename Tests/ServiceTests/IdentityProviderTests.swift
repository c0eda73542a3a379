import Crypto
import Foundation
import ServiceRuntime
import Testing

/// The JWT verifier on its own: algorithms bound to key types, claims, skew, key sets.
@Suite("Identity provider tokens")
struct IdentityProviderTests {
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    static func token(header: [String: Any], claims: [String: Any], sign: (Data) -> Data) -> String {
        let h = Base64URL.encode(try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let c = Base64URL.encode(try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        return h + "." + c + "." + Base64URL.encode(sign(Data((h + "." + c).utf8)))
    }

    static var claims: [String: Any] {
        [
            "iss": "https://idp.example", "aud": ["hpf", "other"], "exp": 1_780_000_600, "nbf": 1_779_999_000,
            "staff_id": "s-1", "roles": ["auditor", "astronaut"],
        ]
    }

    @Test("an ES256 token verifies with its P-256 key from a JWKS; unknown roles are ignored by the caller mapping")
    func es256() throws {
        let key = P256.Signing.PrivateKey()
        let raw = key.publicKey.rawRepresentation
        let jwks = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"ec1","x":"\#(Base64URL.encode(raw.prefix(32)))","y":"\#(Base64URL.encode(raw.suffix(32)))"}]}"#
        let provider = IdentityProvider(issuer: "https://idp.example", audience: "hpf", keys: try IdentityProvider.keys(fromJWKS: jwks))
        let token = Self.token(header: ["alg": "ES256", "kid": "ec1"], claims: Self.claims) { try! key.signature(for: $0).rawRepresentation }
        let verified = try provider.verify(token, now: Self.now)
        #expect(verified.staffId == "s-1" && verified.roles == ["auditor", "astronaut"])
        // The same key cannot be used as another algorithm, and another key's signature fails.
        let asEdDSA = Self.token(header: ["alg": "EdDSA", "kid": "ec1"], claims: Self.claims) { try! key.signature(for: $0).rawRepresentation }
        #expect(throws: IdentityProvider.Refusal.unsupportedAlgorithm) { try provider.verify(asEdDSA, now: Self.now) }
        let hmac = Self.token(header: ["alg": "HS256", "kid": "ec1"], claims: Self.claims) {
            Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: raw)))
        }
        #expect(throws: IdentityProvider.Refusal.unsupportedAlgorithm) { try provider.verify(hmac, now: Self.now) }
        let other = P256.Signing.PrivateKey()
        let forged = Self.token(header: ["alg": "ES256", "kid": "ec1"], claims: Self.claims) { try! other.signature(for: $0).rawRepresentation }
        #expect(throws: IdentityProvider.Refusal.badSignature) { try provider.verify(forged, now: Self.now) }
        let critical = Self.token(header: ["alg": "ES256", "kid": "ec1", "crit": ["exp"]], claims: Self.claims) {
            try! key.signature(for: $0).rawRepresentation
        }
        #expect(throws: IdentityProvider.Refusal.unsupportedAlgorithm) { try provider.verify(critical, now: Self.now) }
    }

    @Test("expiry and not-before hold with a 60 s skew; a token without exp is refused")
    func times() throws {
        let key = Curve25519.Signing.PrivateKey()
        let provider = IdentityProvider(issuer: "https://idp.example", audience: "hpf", keys: ["ed1": .ed25519(key.publicKey)])
        func token(_ claims: [String: Any]) -> String {
            Self.token(header: ["alg": "EdDSA", "kid": "ed1"], claims: claims) { try! key.signature(for: $0) }
        }
        var claims = Self.claims
        #expect(throws: Never.self) { try provider.verify(token(claims), now: Self.now.addingTimeInterval(650)) }
        #expect(throws: IdentityProvider.Refusal.expired) { try provider.verify(token(claims), now: Self.now.addingTimeInterval(700)) }
        #expect(throws: IdentityProvider.Refusal.notYetValid) { try provider.verify(token(claims), now: Self.now.addingTimeInterval(-1100)) }
        claims["exp"] = nil
        #expect(throws: IdentityProvider.Refusal.expired) { try provider.verify(token(claims), now: Self.now) }
        claims["exp"] = 1_780_000_600
        claims["aud"] = "someone-else"
        #expect(throws: IdentityProvider.Refusal.wrongAudience) { try provider.verify(token(claims), now: Self.now) }
    }

    @Test("a key set with no kid, an unknown key type or a bad point is a configuration error")
    func keySets() {
        for jwks in [
            #"{"keys":[]}"#, #"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}"#,
            #"{"keys":[{"kty":"RSA","kid":"r","n":"x","e":"AQAB"}]}"#, #"{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"AA","y":"AA"}]}"#, "nonsense",
        ] {
            #expect(throws: ConfigurationError.self, "\(jwks)") { try IdentityProvider.keys(fromJWKS: jwks) }
        }
    }
}
