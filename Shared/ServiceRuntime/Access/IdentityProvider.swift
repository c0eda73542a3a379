import Crypto
import Foundation

/// Verifies the JWTs of the city's identity provider (RFC 7519): citizens after real-name
/// verification, staff with a staff id and roles. Only EdDSA (Ed25519) and ES256 are accepted,
/// each only with a key of its own type, found by `kid` among the configured keys (several at
/// once, so the provider can rotate); `alg: none`, HMAC and unknown critical headers are refused.
/// Issuer, audience, expiry and not-before are checked with a small clock-skew allowance.
public struct IdentityProvider: Sendable {
    public enum PublicKey: Sendable {
        case ed25519(Curve25519.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)

        var algorithm: String {
            switch self {
            case .ed25519: "EdDSA"
            case .p256: "ES256"
            }
        }

        func isValid(signature: Data, for input: Data) -> Bool {
            switch self {
            case .ed25519(let key):
                return key.isValidSignature(signature, for: input)
            case .p256(let key):
                // JWS carries ES256 signatures as the raw 64-byte r || s.
                guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
                return key.isValidSignature(ecdsa, for: input)
            }
        }
    }

    /// Why a bearer token was refused (the 401's `code`).
    public enum Refusal: String, Error, Sendable {
        case malformedToken = "malformed_token"
        case unsupportedAlgorithm = "unsupported_algorithm"
        case unknownKey = "unknown_key"
        case badSignature = "bad_signature"
        case wrongIssuer = "wrong_issuer"
        case wrongAudience = "wrong_audience"
        case expired = "token_expired"
        /// `exp` further ahead than `maximumLifetimeSeconds`: a leaked token must not live for ever.
        case lifetimeTooLong = "token_lifetime_too_long"
        case notYetValid = "token_not_yet_valid"
        case unknownSubject = "unknown_subject_kind"
    }

    /// The claims this suite reads. A citizen token carries `id_number` (the real-name verified
    /// resident ID number); a staff token carries `staff_id` and `roles`. Never both.
    public struct Claims: Decodable, Sendable {
        public var iss: String?
        public var aud: Audience?
        public var exp: Double?
        public var nbf: Double?
        public var iat: Double?
        public var sub: String?
        public var idNumber: String?
        public var staffId: String?
        public var roles: [String]?

        enum CodingKeys: String, CodingKey {
            case iss, aud, exp, nbf, iat, sub, roles
            case idNumber = "id_number"
            case staffId = "staff_id"
        }

        /// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
        public struct Audience: Decodable, Sendable {
            public var values: [String]
            public init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let one = try? container.decode(String.self) { values = [one] } else { values = try container.decode([String].self) }
            }
        }
    }

    struct Header: Decodable {
        var alg: String
        var kid: String?
        var crit: [String]?
    }

    /// The longest a token may still be valid for (a decision: a working day).
    public static let maximumLifetimeSeconds: Double = 12 * 3600

    public let issuer: String
    public let audience: String
    public let keys: [String: PublicKey]
    public let skewSeconds: Double
    /// Tokens whose signature, issuer and audience already verified (the keys never change in a
    /// process): a citizen's or officer's requests within a token's life cost one verification.
    let verified = VerifiedTokens()

    public init(issuer: String, audience: String, keys: [String: PublicKey], skewSeconds: Double = 60) {
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.skewSeconds = skewSeconds
    }

    /// The verified claims of `token`, or the reason it is refused. The time checks run on every
    /// call; the signature only on a token not seen before.
    public func verify(_ token: String, now: Date) throws(Refusal) -> Claims {
        let claims: Claims
        if let known = verified.claims(of: token) {
            claims = known
        } else {
            claims = try verifySignedClaims(token)
            verified.keep(claims, for: token)
        }
        let seconds = now.timeIntervalSince1970
        guard let exp = claims.exp, exp.isFinite, seconds < exp + skewSeconds else { throw .expired }
        guard exp - seconds <= Self.maximumLifetimeSeconds + skewSeconds else { throw .lifetimeTooLong }
        if let nbf = claims.nbf, !(nbf.isFinite && seconds >= nbf - skewSeconds) { throw .notYetValid }
        return claims
    }

    /// The claims of a token whose form, signature, issuer and audience hold (nothing that
    /// depends on the time).
    func verifySignedClaims(_ token: String) throws(Refusal) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 8192, parts.count == 3,
            let headerData = Base64URL.decode(parts[0]), let payloadData = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2]),
            let header = try? JSONDecoder().decode(Header.self, from: headerData)
        else { throw .malformedToken }
        guard header.alg == "EdDSA" || header.alg == "ES256", header.crit == nil else { throw .unsupportedAlgorithm }
        guard let kid = header.kid, let key = keys[kid] else { throw .unknownKey }
        // The algorithm must be the key's own: a token cannot pick how its key is used.
        guard key.algorithm == header.alg else { throw .unsupportedAlgorithm }
        guard key.isValid(signature: signature, for: Data("\(parts[0]).\(parts[1])".utf8)) else { throw .badSignature }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: payloadData) else { throw .malformedToken }
        guard claims.iss == issuer else { throw .wrongIssuer }
        guard claims.aud?.values.contains(audience) == true else { throw .wrongAudience }
        return claims
    }

    /// Reads a JSON Web Key Set (RFC 7517): OKP/Ed25519 and EC/P-256 keys with a `kid`.
    public static func keys(fromJWKS json: String) throws -> [String: PublicKey] {
        struct JWK: Decodable { var kty: String; var crv: String?; var kid: String?; var x: String?; var y: String? }
        struct JWKS: Decodable { var keys: [JWK] }
        guard let set = try? JSONDecoder().decode(JWKS.self, from: Data(json.utf8)) else {
            throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "is not a JSON Web Key Set ({\"keys\":[...]})")
        }
        var keys: [String: PublicKey] = [:]
        for jwk in set.keys {
            guard let kid = jwk.kid, !kid.isEmpty else { throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "a key has no kid") }
            switch (jwk.kty, jwk.crv) {
            case ("OKP", "Ed25519"):
                guard let x = jwk.x.flatMap(Base64URL.decode), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: x) else {
                    throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "key \(kid): x is not an Ed25519 public key")
                }
                keys[kid] = .ed25519(key)
            case ("EC", "P-256"):
                guard let x = jwk.x.flatMap(Base64URL.decode), let y = jwk.y.flatMap(Base64URL.decode),
                    let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
                else {
                    throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "key \(kid): x, y are not a P-256 public key")
                }
                keys[kid] = .p256(key)
            default:
                throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "key \(kid): only OKP/Ed25519 and EC/P-256 keys are accepted")
            }
        }
        guard !keys.isEmpty else { throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "has no keys") }
        return keys
    }
}

/// A setting that is missing or does not parse: the service refuses to start (exit status 2)
/// with one line naming the variable.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let variable: String
    public let reason: String
    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }

    public var description: String { "\(variable) \(reason)" }
}
