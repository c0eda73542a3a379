import Contracts
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The channels' public keys, registered by staff (add, rotate by adding, revoke), and the
/// nonces each channel has used within the window. Every service that receives signed requests
/// keeps its own registry in its own schema (`channel_keys`, `channel_nonces`), so each can be
/// deployed alone.
public struct ChannelRegistry: Sendable {
    let database: Database
    let development: Bool
    /// The nonces of signed requests that arrive together, recorded in one statement (group
    /// commit: one insert and one commit for the group, not one per request).
    let nonces: GroupCommit<ChannelNonce, Bool>
    /// The registered keys as last read (for at most a second; a revocation here holds at once).
    let keys = ChannelKeyCache()
    /// At most this many nonces per statement (a nonce is one short row; a burst of signed
    /// requests fits in one or two groups), two statements in flight: one written while the other commits.
    static let nonceGroupLimit = 256
    static let nonceGroupConcurrency = 2

    init(database: Database, development: Bool) {
        self.database = database
        self.development = development
        nonces = GroupCommit(limit: Self.nonceGroupLimit, concurrency: Self.nonceGroupConcurrency) { nonces in
            await ChannelNonce.record(nonces, in: database)
        }
    }

    /// Verifies a signed request: headers, window, key, signature, then the nonce (recorded only
    /// once the signature holds, so nobody can burn another channel's nonces).
    func verify(headers: HTTPFields, method: String, path: String, body: ByteBuffer, now: Date) async throws -> Caller {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
        guard let channel = header(ChannelSignature.channelHeader), let keyId = header(ChannelSignature.keyIdHeader),
            let timestamp = header(ChannelSignature.timestampHeader), let nonce = header(ChannelSignature.nonceHeader),
            let encoded = header(ChannelSignature.signatureHeader)
        else { throw ChannelSignature.Refusal.missingSignature }
        guard let kind = ChannelCatalogue.kinds[channel] else { throw ChannelSignature.Refusal.unknownChannel }
        // Ten digits at most and no sign: the arithmetic below can never overflow, whatever is sent.
        guard (1...10).contains(timestamp.utf8.count), timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(timestamp),
            abs(seconds - Int64(now.timeIntervalSince1970)) <= ChannelSignature.windowSeconds
        else {
            throw ChannelSignature.Refusal.staleTimestamp
        }
        guard ChannelSignature.validNonce(nonce) else { throw ChannelSignature.Refusal.badNonce }
        guard let key = try await publicKey(channel: channel, keyId: keyId) else { throw ChannelSignature.Refusal.unknownKey }
        let message = ChannelSignature.message(timestamp: timestamp, nonce: nonce, method: method, path: path, body: body.readableBytesView)
        guard let signature = Data(base64Encoded: encoded), key.isValidSignature(signature, for: message) else {
            throw ChannelSignature.Refusal.badSignature
        }
        guard try await nonces.submit(ChannelNonce(channel: channel, nonce: nonce)) else { throw ChannelSignature.Refusal.nonceReused }
        // Nonces older than three windows can never be replayed (their timestamp is stale): prune
        // now and then. Twice the window was exact, with no room for a request that waited in a
        // group, or for the database's clock against ours.
        if UInt8.random(in: 0...255) == 0 {
            let kept = Double(3 * ChannelSignature.windowSeconds)
            try await database.query("DELETE FROM channel_nonces WHERE seen_at < now() - make_interval(secs => \(kept))")
        }
        return .channel(id: channel, kind: kind)
    }

    func publicKey(channel: String, keyId: String) async throws -> Curve25519.Signing.PublicKey? {
        if development {
            let dev = DevelopmentIdentity.channelKey(channel)
            if dev.keyId == keyId { return dev.key.publicKey }
        }
        if let known = keys.key(channel: channel, keyId: keyId) { return known }
        let readAt = ContinuousClock.now
        let rows = try await database.query(
            """
            SELECT public_key FROM channel_keys
            WHERE key_id = \(keyId) AND channel_id = \(channel) AND revoked_at IS NULL AND approved_at IS NOT NULL
            """)
        for try await encoded in rows.decode(String.self) {
            guard let key = Data(base64Encoded: encoded).flatMap({ try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }) else { return nil }
            keys.keep(key, channel: channel, keyId: keyId, readAt: readAt)
            return key
        }
        return nil
    }

    // MARK: staff routes

    struct KeyRegistration: Codable {
        var keyId: String
        /// Base64 of the raw 32-byte Ed25519 public key.
        var publicKey: String
    }

    struct KeyView: Codable {
        var channelId: String
        var kind: String
        var keyId: String
        var registeredAt: String
        var registeredBy: String
        /// A key signs nothing until a second officer approves it (four eyes).
        var approvedAt: String?
        var approvedBy: String?
        var revokedAt: String?
    }

    /// `GET /v1/channels`: every registered key, revoked ones included.
    @Sendable func list(_ request: Request, context: HPFRequestContext) async throws -> Response {
        var views: [KeyView] = []
        let rows = try await database.query(
            """
            SELECT channel_id, key_id, registered_at, registered_by, approved_at, approved_by, revoked_at FROM channel_keys
            ORDER BY channel_id, registered_at
            """)
        for try await (channel, keyId, at, by, approved, approver, revoked) in rows.decode((String, String, Date, String, Date?, String?, Date?).self) {
            views.append(
                KeyView(
                    channelId: channel, kind: ChannelCatalogue.kinds[channel]?.rawValue ?? "unknown", keyId: keyId,
                    registeredAt: Instant.format(at), registeredBy: by, approvedAt: approved.map(Instant.format),
                    approvedBy: approver, revokedAt: revoked.map(Instant.format)))
        }
        return try HTTPJSON.response(.ok, ["keys": views])
    }

    /// `POST /v1/channels/{channelId}/keys`: adds a key (rotation is adding, then revoking the old one).
    @Sendable func register(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let channel = try context.parameters.require("channelId")
        guard ChannelCatalogue.kinds[channel] != nil else { throw Problem.notFound("unknown_channel", "no channel \(channel)") }
        let body = try await HTTPJSON.decode(KeyRegistration.self, from: request)
        var errors: [Problem.FieldError] = []
        if !(1...64).contains(body.keyId.count) || !body.keyId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            errors.append(.init(field: "keyId", message: "1 to 64 of A-Z a-z 0-9 - _ ."))
        }
        guard let raw = Data(base64Encoded: body.publicKey), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw Problem.malformed(
                "publicKey is not a base64 raw 32-byte Ed25519 public key",
                errors: errors + [.init(field: "publicKey", message: "base64 of a raw 32-byte Ed25519 public key")])
        }
        guard errors.isEmpty else { throw Problem.malformed("some fields are invalid", errors: errors) }
        if !development, DevelopmentIdentity.isDevelopmentKey(.ed25519(key)) {
            throw Problem.rule("development_key", "the development keys are public and are refused outside development")
        }
        let by = context.caller?.subject ?? "unknown"
        let rows = try await database.query(
            """
            INSERT INTO channel_keys (key_id, channel_id, public_key, registered_by) VALUES (\(body.keyId), \(channel), \(body.publicKey), \(by))
            ON CONFLICT (key_id) DO NOTHING RETURNING 1
            """)
        var added = false
        for try await _ in rows { added = true }
        guard added else { throw Problem.conflict("key_id_taken", "key id \(body.keyId) is already registered") }
        context.audit.noteAccount("channel:\(channel)", checked: false)
        return try HTTPJSON.response(.created, ["channelId": channel, "keyId": body.keyId, "status": "awaiting_approval"])
    }

    /// `POST /v1/channels/{channelId}/keys/{keyId}/approval`: a second officer activates the key.
    /// Whoever registered a key cannot approve it: one officer alone cannot become a payment channel
    /// (and so confirm money that never arrived).
    @Sendable func approve(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let channel = try context.parameters.require("channelId")
        let keyId = try context.parameters.require("keyId")
        let approver = context.caller?.subject ?? "unknown"
        context.audit.noteAccount("channel:\(channel)", checked: false)
        var registrar: String?
        var approved = false
        for try await (by, at) in try await database.query(
            """
            SELECT registered_by, approved_at IS NOT NULL FROM channel_keys WHERE key_id = \(keyId) AND channel_id = \(channel) AND revoked_at IS NULL
            """
        ).decode((String, Bool).self) {
            registrar = by
            approved = at
        }
        guard let registrar else { throw Problem.notFound("unknown_key", "channel \(channel) has no key \(keyId)") }
        guard registrar != approver else {
            throw Problem.forbidden(code: "same_officer", "the officer who registered a key cannot approve it")
        }
        if !approved {
            try await database.query(
                """
                UPDATE channel_keys SET approved_at = now(), approved_by = \(approver)
                WHERE key_id = \(keyId) AND channel_id = \(channel) AND approved_at IS NULL AND revoked_at IS NULL
                """)
        }
        return try HTTPJSON.response(.ok, ["channelId": channel, "keyId": keyId, "status": "active"])
    }

    /// `DELETE /v1/channels/{channelId}/keys/{keyId}`: revokes a key, at once on this instance and
    /// within `ChannelKeyCache.lifetime` on the service's others.
    @Sendable func revoke(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let channel = try context.parameters.require("channelId")
        let keyId = try context.parameters.require("keyId")
        // Forgotten however the revocation ends, once its statement has: a revocation that
        // committed but failed to answer still holds here at once (forgetting a key that was not
        // revoked only makes the next request read it again).
        defer { keys.forget(channel: channel, keyId: keyId) }
        let rows = try await database.query(
            """
            UPDATE channel_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = \(keyId) AND channel_id = \(channel) RETURNING 1
            """)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw Problem.notFound("unknown_key", "channel \(channel) has no key \(keyId)") }
        return try HTTPJSON.response(.ok, ["channelId": channel, "keyId": keyId, "status": "revoked"])
    }

    static let migration = Migration(
        10_002, "channel keys and nonces",
        """
        CREATE TABLE IF NOT EXISTS channel_keys (
            key_id text PRIMARY KEY,
            channel_id text NOT NULL,
            public_key text NOT NULL,
            registered_at timestamptz NOT NULL DEFAULT now(),
            registered_by text NOT NULL,
            revoked_at timestamptz
        );
        CREATE TABLE IF NOT EXISTS channel_nonces (
            channel_id text NOT NULL,
            nonce text NOT NULL,
            seen_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (channel_id, nonce)
        );
        CREATE INDEX IF NOT EXISTS channel_nonces_by_time ON channel_nonces (seen_at);
        ALTER TABLE channel_keys ADD COLUMN IF NOT EXISTS approved_at timestamptz;
        ALTER TABLE channel_keys ADD COLUMN IF NOT EXISTS approved_by text;
        """)
}

/// A nonce a channel used, once its request's signature held.
struct ChannelNonce: Sendable, Hashable {
    let channel: String
    let nonce: String

    /// Records `nonces` in one statement and answers, for each, whether it was fresh: the first
    /// use of a (channel, nonce) is, a second one (stored before, or earlier in the same group)
    /// is not.
    static func record(_ nonces: [ChannelNonce], in database: Database) async -> [Result<Bool, any Error>] {
        do {
            // Bounded, as every group's work (`GroupCommit`): a statement stuck on a connection
            // that stopped answering must not hold the signed requests behind it.
            var stored = try await withDeadline(seconds: GroupWork.deadlineSeconds) { try await inserted(nonces, in: database) }
            return nonces.map { .success(stored.remove($0) != nil) }
        } catch {
            return nonces.map { _ in .failure(error) }
        }
    }

    /// The nonces of `nonces` the insert stored (each pair once).
    private static func inserted(_ nonces: [ChannelNonce], in database: Database) async throws -> Set<ChannelNonce> {
        var stored: Set<ChannelNonce> = []
        for try await (channel, nonce) in try await database.query(
            """
            INSERT INTO channel_nonces (channel_id, nonce) SELECT * FROM unnest(\(nonces.map(\.channel))::text[], \(nonces.map(\.nonce))::text[])
            ON CONFLICT DO NOTHING RETURNING channel_id, nonce
            """
        ).decode((String, String).self) { stored.insert(ChannelNonce(channel: channel, nonce: nonce)) }
        return stored
    }
}
