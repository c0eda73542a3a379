import Crypto
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §17 partner registry: the border-region cities (a policy parameter), what each exchange is
/// switched on for (both, unless staff switch one off), and each partner's public keys: Ed25519
/// keys its messages are signed with, X25519 keys we seal its people's data to.
struct PartnerRegistry: Sendable {
    let runtime: ServiceRuntime
    /// Our own public keys (signing and encryption), shown in our entry so partners can register them.
    let ownKeys: [Key]

    /// What a key is for: `signing` (Ed25519, the partner signs its messages) or `encryption`
    /// (X25519, we seal the personal fields of our letters to it).
    enum Use: String, Codable, Sendable { case signing, encryption }

    struct Key: Codable, Sendable {
        var keyId: String
        var use: Use
        var publicKey: String
        var revoked: Bool
        /// When it was revoked: messages signed from then on are refused (`revoked_key`).
        var revokedAt: String?
        /// The end date it was registered with: messages signed after it are refused (`expired_key`).
        var validUntil: String?
    }

    struct Partner: Codable, Sendable {
        var code: String
        var name: String
        var province: String
        var us: Bool
        var transfer: Bool
        var recognition: Bool
        var keys: [Key]
    }

    func partners(in db: DatabaseContext) async throws -> [Partner] {
        var switches: [String: (Bool, Bool)] = [:]
        for try await (code, transfer, recognition) in try await db.query(
            "SELECT partner_code, transfer_enabled, recognition_enabled FROM partner_switches"
        ).decode((String, Bool, Bool).self) {
            switches[code] = (transfer, recognition)
        }
        var keys: [String: [Key]] = [:]
        for try await (id, code, use, key, revokedAt, validUntil) in try await db.query(
            "SELECT key_id, partner_code, key_use, public_key, revoked_at, valid_until FROM partner_keys ORDER BY registered_at"
        )
        .decode((String, String, String, String, Date?, Date?).self) {
            keys[code, default: []].append(
                Key(
                    keyId: id, use: try Use.stored(use, column: "partner_keys.key_use"), publicKey: key, revoked: revokedAt != nil,
                    revokedAt: revokedAt.map(Self.text), validUntil: validUntil.map(Self.text)))
        }
        let ours = runtime.parameters.cityCode.value
        return runtime.parameters.borderPartners.value.map { city in
            let (transfer, recognition) = switches[city.code] ?? (true, true)
            return Partner(
                code: city.code, name: city.name, province: city.province, us: city.code == ours,
                transfer: city.code != ours && transfer, recognition: city.code != ours && recognition,
                keys: city.code == ours ? ownKeys : keys[city.code] ?? [])
        }
    }

    /// `GET /v1/partners`
    @Sendable func list(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let partners = try await runtime.reading(logger: context.logger) { try await self.partners(in: $0) }
        return try HTTPJSON.response(.ok, ["partners": partners])
    }

    func partnerCode(_ context: HPFRequestContext) throws -> String {
        let code = try context.parameters.require("partnerCode")
        guard let city = city(code) else { throw Problem.notFound("unknown_partner", "\(code) is not a partner city") }
        return city.code
    }

    /// A partner city (never us), or nil.
    func city(_ code: String) -> PartnerCity? {
        guard code != runtime.parameters.cityCode.value else { return nil }
        return runtime.parameters.borderPartners.value.first { $0.code == code }
    }

    /// A partner city named in a request body.
    func partner(_ code: String) throws -> PartnerCity {
        guard let city = city(code) else { throw Problem.rule("unknown_partner", "\(code) is not a border-region partner city") }
        return city
    }

    /// What the exchanges with `code` are switched on for (both, unless staff switched one off).
    func switches(_ code: String, in db: DatabaseContext) async throws -> (transfer: Bool, recognition: Bool) {
        let rows = try await db.query(
            "SELECT transfer_enabled, recognition_enabled FROM partner_switches WHERE partner_code = \(code)")
        for try await (transfer, recognition) in rows.decode((Bool, Bool).self) { return (transfer, recognition) }
        return (true, true)
    }

    struct Switches: Codable { var transfer: Bool; var recognition: Bool }

    /// `PUT /v1/partners/{partnerCode}` (staff): switch the exchanges on or off.
    @Sendable func configure(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let code = try partnerCode(context)
        let body = try await HTTPJSON.decode(Switches.self, from: request)
        try await runtime.database.query(
            """
            INSERT INTO partner_switches (partner_code, transfer_enabled, recognition_enabled) VALUES (\(code), \(body.transfer), \(body.recognition))
            ON CONFLICT (partner_code) DO UPDATE SET transfer_enabled = excluded.transfer_enabled,
                recognition_enabled = excluded.recognition_enabled, updated_at = now()
            """)
        return try await list(request, context: context)
    }

    struct NewKey: Codable {
        var keyId: String
        /// `signing` (the default) or `encryption`.
        var use: Use?
        var publicKey: String
        /// Optional end date (RFC 3339): the key signs nothing after it.
        var validUntil: String?
    }

    static func text(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// `POST /v1/partners/{partnerCode}/keys` (staff): a partner's public key (raw 32 bytes,
    /// base64; Ed25519 to sign with, or X25519 with `use: encryption`) under a key id that is
    /// unique across partners.
    @Sendable func registerKey(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let code = try partnerCode(context)
        var body = try await HTTPJSON.decode(NewKey.self, from: request)
        body.use = body.use ?? .signing
        guard !body.keyId.isEmpty, body.keyId.count <= 64 else { throw Problem.malformed("keyId must be 1 to 64 characters") }
        // Both are raw 32-byte keys; an X25519 key is any 32 bytes, an Ed25519 one must be a curve point.
        let raw = Data(base64Encoded: body.publicKey)
        let valid =
            switch body.use ?? .signing {
            case .signing: raw.flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) } != nil
            case .encryption: PartnerSealing.publicKey(base64: body.publicKey) != nil
            }
        guard valid else {
            throw Problem.malformed(
                "publicKey must be a base64 raw 32-byte \(body.use == .encryption ? "X25519" : "Ed25519") public key",
                errors: [.init(field: "publicKey", message: "32 bytes, base64")])
        }
        var validUntil: Date?
        if let text = body.validUntil {
            guard let date = PartnerSignature.instant(text), date > Date(), date < Date().addingTimeInterval(20 * 366 * 86_400) else {
                throw Problem.malformed(
                    "validUntil must be an RFC 3339 instant in the next twenty years",
                    errors: [.init(field: "validUntil", message: "RFC 3339, in the future")])
            }
            validUntil = date
        }
        let rows = try await runtime.database.query(
            """
            INSERT INTO partner_keys (key_id, partner_code, key_use, public_key, valid_until)
            VALUES (\(body.keyId), \(code), \((body.use ?? .signing).rawValue), \(body.publicKey), \(validUntil))
            ON CONFLICT (key_id) DO NOTHING RETURNING 1
            """)
        var inserted = false
        for try await _ in rows { inserted = true }
        if !inserted { throw Problem.conflict("key_id_taken", "key id \(body.keyId) is already registered") }
        return try HTTPJSON.response(.created, body)
    }

    /// `DELETE /v1/partners/{partnerCode}/keys/{keyId}` (staff): revokes a partner's key from now
    /// on (a compromised key, say): messages it signs from this instant are refused with
    /// `revoked_key`; what it signed before stays valid. Revoking twice keeps the first time.
    @Sendable func revokeKey(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let code = try partnerCode(context)
        let keyId = try context.parameters.require("keyId")
        // Key ids are 1 to 64 characters (as registered): anything else names no key.
        guard (1...64).contains(keyId.count) else { throw Problem.notFound("unknown_key", "\(code) has no such key") }
        var revokedAt: Date?
        for try await at in try await runtime.database.query(
            """
            UPDATE partner_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = \(keyId) AND partner_code = \(code) RETURNING revoked_at
            """
        ).decode(Date.self) { revokedAt = at }
        guard let revokedAt else { throw Problem.notFound("unknown_key", "\(code) has no key \(keyId)") }
        return try HTTPJSON.response(.ok, ["keyId": keyId, "partnerCode": code, "revokedAt": Self.text(revokedAt)])
    }

    /// The key we seal `city`'s letters to: its newest encryption key that is neither revoked
    /// nor past its end date; nil when it has none (then we cannot write to it about a person).
    func recipientKey(_ city: String, in db: DatabaseContext) async throws -> PartnerSealing.RecipientKey? {
        let rows = try await db.query(
            """
            SELECT key_id, public_key FROM partner_keys
            WHERE partner_code = \(city) AND key_use = 'encryption' AND revoked_at IS NULL AND (valid_until IS NULL OR valid_until > now())
            ORDER BY registered_at DESC LIMIT 1
            """)
        for try await (keyId, encoded) in rows.decode((String, String).self) {
            if let key = PartnerSealing.publicKey(base64: encoded) { return PartnerSealing.RecipientKey(keyId: keyId, key: key) }
        }
        return nil
    }
}
