import Crypto
import Foundation

/// Personal data at rest (names, phone numbers, payees, bank accounts): sealed with AES-256-GCM
/// before it reaches a table, so a database dump, a backup or a read-only reporting role shows
/// ciphertext only. A stored value reads `pd1:<key id>:<base64 nonce|ciphertext|tag>`: the key id
/// beside each value lets keys rotate (add a key, make it current, run the re-encryption command;
/// old keys stay configured until nothing is sealed with them). The additional data binds a value
/// to its column and row (`accounts.name:3207…`), so a sealed value copied into another row or
/// column does not open.
///
/// Keys come from `HPF_DATA_KEYS` (`[{"keyId":"pd-2026-1","key":"<base64 32 bytes>"}]`) and
/// `HPF_DATA_KEY_ID` (the key new values are sealed with). Outside development they are required
/// by the services that keep personal data, and the public development key is refused.
public struct PersonalDataCipher: Sendable {
    public static let format = "pd1"

    /// The key new values are sealed with.
    public let currentKeyId: String
    private let keys: [String: SymmetricKey]

    public init(currentKeyId: String, keys: [String: SymmetricKey]) throws(ConfigurationError) {
        guard keys[currentKeyId] != nil else {
            throw ConfigurationError(variable: "HPF_DATA_KEY_ID", reason: "names key \(currentKeyId), which HPF_DATA_KEYS does not hold")
        }
        self.currentKeyId = currentKeyId
        self.keys = keys
    }

    public var keyIds: [String] { keys.keys.sorted() }

    /// The sealed form of `text` under the current key, bound to `context`.
    public func seal(_ text: String, context: String) throws -> String {
        guard let key = keys[currentKeyId] else { throw PersonalDataError(detail: "no current data key") }
        let box = try AES.GCM.seal(Data(text.utf8), using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw PersonalDataError(detail: "sealing produced no combined box") }
        return "\(Self.format):\(currentKeyId):\(combined.base64EncodedString())"
    }

    public func seal(_ text: String?, context: String) throws -> String? {
        try text.map { try seal($0, context: context) }
    }

    /// Seals `text` for `column` of the row `row`.
    public func seal(_ text: String, _ column: SealedColumn, row: String) throws -> String { try seal(text, context: column.context(row)) }
    public func seal(_ text: String?, _ column: SealedColumn, row: String) throws -> String? { try seal(text, context: column.context(row)) }
    public func open(_ stored: String, _ column: SealedColumn, row: String) throws -> String { try open(stored, context: column.context(row)) }
    public func open(_ stored: String?, _ column: SealedColumn, row: String) throws -> String? { try open(stored, context: column.context(row)) }

    /// Seals a value as JSON (a payee, the evidence of a request).
    public func sealJSON<T: Encodable>(_ value: T, _ column: SealedColumn, row: String) throws -> String {
        try seal(String(decoding: try JSONEncoder().encode(value), as: UTF8.self), column, row: row)
    }

    public func openJSON<T: Decodable>(_ type: T.Type, _ stored: String, _ column: SealedColumn, row: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(try open(stored, column, row: row).utf8))
    }

    /// The clear text of a sealed value; an error when the value is not sealed, its key is not
    /// configured or it was not sealed for `context` (never a silent fallback to the stored text).
    public func open(_ stored: String, context: String) throws -> String {
        let parts = stored.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.format, let combined = Data(base64Encoded: String(parts[2])) else {
            throw PersonalDataError(detail: "\(context) holds a value that is not sealed personal data")
        }
        guard let key = keys[String(parts[1])] else {
            throw PersonalDataError(detail: "\(context) is sealed with data key \(parts[1]), which is not configured")
        }
        do {
            let clear = try AES.GCM.open(try AES.GCM.SealedBox(combined: combined), using: key, authenticating: Data(context.utf8))
            return String(decoding: clear, as: UTF8.self)
        } catch {
            throw PersonalDataError(detail: "\(context) does not open with data key \(parts[1])")
        }
    }

    public func open(_ stored: String?, context: String) throws -> String? {
        try stored.map { try open($0, context: context) }
    }

    /// The id of the key `stored` is sealed with (nil: not sealed, e.g. a row written before
    /// sealing existed, which the re-encryption command seals).
    public static func keyId(of stored: String) -> String? {
        let parts = stored.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == format ? String(parts[1]) : nil
    }

    /// Whether `stored` must be sealed again: not sealed at all, or sealed with another key.
    public func needsResealing(_ stored: String) -> Bool { Self.keyId(of: stored) != currentKeyId }

    /// Opens a value for re-sealing: a sealed one with its key, a clear one (written before
    /// sealing existed) as it is.
    public func openOrLegacy(_ stored: String, context: String) throws -> String {
        Self.keyId(of: stored) == nil ? stored : try open(stored, context: context)
    }

    // MARK: - Configuration

    public static let developmentKeyId = "dev-data-1"

    /// The public development key (development stacks only).
    public static var developmentKey: SymmetricKey { SymmetricKey(data: SHA256.hash(data: Data("hpf-dev-personal-data-key".utf8))) }

    public static var development: PersonalDataCipher {
        // The development key id is always in the keyring it is current in.
        try! PersonalDataCipher(currentKeyId: developmentKeyId, keys: [developmentKeyId: developmentKey])
    }

    /// `HPF_DATA_KEYS`: `[{"keyId":"pd-2026-1","key":"<base64 of 32 random bytes>"}]`.
    public static func parseKeys(_ json: String) throws(ConfigurationError) -> [String: SymmetricKey] {
        struct Item: Decodable { var keyId: String; var key: String }
        guard let items = try? JSONDecoder().decode([Item].self, from: Data(json.utf8)), !items.isEmpty else {
            throw ConfigurationError(variable: "HPF_DATA_KEYS", reason: "is not a non-empty JSON list of {keyId, key}")
        }
        var keys: [String: SymmetricKey] = [:]
        for item in items {
            guard !item.keyId.isEmpty, item.keyId.count <= 64, !item.keyId.contains(":") else {
                throw ConfigurationError(variable: "HPF_DATA_KEYS", reason: "a key id must be 1 to 64 characters without ':'")
            }
            guard let raw = Data(base64Encoded: item.key), raw.count == 32 else {
                throw ConfigurationError(variable: "HPF_DATA_KEYS", reason: "key \(item.keyId) is not base64 of 32 bytes (AES-256)")
            }
            let key = SymmetricKey(data: raw)
            if raw == developmentKey.withUnsafeBytes({ Data($0) }), item.keyId != developmentKeyId {
                throw ConfigurationError(variable: "HPF_DATA_KEYS", reason: "key \(item.keyId) is the public development key")
            }
            keys[item.keyId] = key
        }
        return keys
    }

    /// The cipher a configuration names: its keys, or the development key in development.
    public static func configured(_ config: ServiceConfig) throws -> PersonalDataCipher {
        guard let json = config.dataKeys else { return .development }
        var keys = try parseKeys(json)
        // With one key it is the current one; with several HPF_DATA_KEY_ID must say (checked at start).
        let current = config.dataKeyId ?? keys.keys.sorted().first ?? developmentKeyId
        // Development stacks still open what the development key sealed (it never seals here).
        if config.isDevelopment { keys[developmentKeyId] = keys[developmentKeyId] ?? developmentKey }
        return try PersonalDataCipher(currentKeyId: current, keys: keys)
    }
}

/// A sealed value that cannot be opened (a key missing from configuration, a tampered row).
public struct PersonalDataError: Error, CustomStringConvertible {
    public let detail: String
    public var description: String { "personal data: \(detail)" }
}
