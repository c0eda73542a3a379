import Crypto
import Foundation
import Policy

/// A keyed hash (HMAC-SHA-256) of a resident ID number: the same person always gets the same
/// reference, yet the number cannot be recovered from it without the secret. It is what the
/// database indexes and what other services see, never the raw number.
public struct PersonRefHasher: Sendable {
    let key: SymmetricKey

    public init(secret: String) { key = SymmetricKey(data: Data(secret.utf8)) }

    public func ref(_ id: ResidentID) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(id.value.utf8), using: key)
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}

public extension ServiceRuntime {
    /// The person-ref hasher with this deployment's secret (every service must share it).
    var personRefHasher: PersonRefHasher { PersonRefHasher(secret: config.personKeySecret) }
}
