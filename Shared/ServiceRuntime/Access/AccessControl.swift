import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Policy

/// Everything the access middleware needs, built once per process from configuration: the
/// identity provider's keys, the channel registry, the rate limiters and the audit trail.
public struct AccessControl: Sendable {
    public let provider: IdentityProvider
    public let development: Bool
    public let channels: ChannelRegistry
    public let audit: AuditTrail
    let auditWriter: AuditWriter
    let hasher: PersonRefHasher
    let citizenLimiter: RateLimiter
    let addressLimiter: RateLimiter
    public let metricsPublic: Bool

    /// Refuses (with the variable named) a configuration that would let anyone in: outside
    /// development the provider's issuer, audience and keys are required, and none of the keys may
    /// be a public development key.
    public init(config: ServiceConfig, database: Database, logger: Logger) throws {
        development = config.isDevelopment
        var keys: [String: IdentityProvider.PublicKey] = [:]
        if let jwks = config.idpJWKS { keys = try IdentityProvider.keys(fromJWKS: jwks) }
        if development {
            keys[DevelopmentIdentity.keyId] = .ed25519(DevelopmentIdentity.providerKey.publicKey)
            provider = IdentityProvider(
                issuer: config.idpIssuer ?? DevelopmentIdentity.issuer,
                audience: config.idpAudience ?? DevelopmentIdentity.audience, keys: keys)
            logger.warning(
                "HPF_ENV=development: development identity-provider and channel keys are accepted",
                metadata: ["developmentValues": "\(config.developmentValues.joined(separator: ","))"])
        } else {
            guard let issuer = config.idpIssuer else { throw ConfigurationError(variable: "HPF_IDP_ISSUER", reason: "is required outside development") }
            guard let audience = config.idpAudience else { throw ConfigurationError(variable: "HPF_IDP_AUDIENCE", reason: "is required outside development") }
            guard !keys.isEmpty else { throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "is required outside development (or HPF_IDP_JWKS_FILE)") }
            if let kid = keys.first(where: { DevelopmentIdentity.isDevelopmentKey($0.value) })?.key {
                throw ConfigurationError(variable: "HPF_IDP_JWKS", reason: "key \(kid) is a public development key")
            }
            provider = IdentityProvider(issuer: issuer, audience: audience, keys: keys)
        }
        channels = ChannelRegistry(database: database, development: development)
        audit = AuditTrail(database: database)
        auditWriter = AuditWriter(trail: audit)
        hasher = PersonRefHasher(secret: config.personKeySecret)
        citizenLimiter = RateLimiter(perMinute: config.citizenRateLimit)
        addressLimiter = RateLimiter(perMinute: config.addressRateLimit)
        metricsPublic = config.metricsPublic
    }

    /// The verified caller of `request`, nil when it carries no credential. A bearer token wins
    /// over a channel signature; a signed request's body is read here (and stays readable).
    func authenticate(_ request: inout Request) async throws -> Caller? {
        if let authorization = request.headers[.authorization] {
            guard authorization.hasPrefix("Bearer "), authorization.count > 7 else { throw IdentityProvider.Refusal.malformedToken }
            let claims = try provider.verify(String(authorization.dropFirst(7)), now: Date())
            switch (claims.idNumber, claims.staffId) {
            case (let idNumber?, nil):
                // The raw number is reduced to the keyed reference here and goes no further.
                guard let id = ResidentID(idNumber) else { throw IdentityProvider.Refusal.unknownSubject }
                return .citizen(personRef: hasher.ref(id), maskedIdNumber: id.masked)
            case (nil, let staffId?):
                guard (1...64).contains(staffId.count), staffId.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\0" }) else {
                    throw IdentityProvider.Refusal.unknownSubject
                }
                return .staff(id: staffId, roles: Set((claims.roles ?? []).compactMap(StaffRole.init(rawValue:))))
            default:
                throw IdentityProvider.Refusal.unknownSubject
            }
        }
        if let name = HTTPField.Name(ChannelSignature.signatureHeader), request.headers[name] != nil {
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: HTTPJSON.maxBodyBytes) } catch {
                throw Problem(.contentTooLarge, code: "body_too_large", title: "Body too large", detail: "at most \(HTTPJSON.maxBodyBytes) bytes")
            }
            return try await channels.verify(
                headers: request.headers, method: request.method.rawValue, path: request.uri.description,
                body: body, now: Date())
        }
        return nil
    }
}
