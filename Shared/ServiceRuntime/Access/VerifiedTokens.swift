import Synchronization

/// The claims of bearer tokens already verified, by the token's exact text. Bounded: when full
/// it starts again (tokens live at most 12 hours and are reused many times within minutes), and
/// only tokens of ordinary size are kept. Verification of the signature costs about a tenth of a
/// loan decision's CPU; a cached token still has its expiry checked on every request.
final class VerifiedTokens: Sendable {
    static let capacity = 10_000
    static let maxTokenBytes = 2_048

    private let entries = Mutex<[String: IdentityProvider.Claims]>([:])

    func claims(of token: String) -> IdentityProvider.Claims? {
        entries.withLock { $0[token] }
    }

    func keep(_ claims: IdentityProvider.Claims, for token: String) {
        guard token.utf8.count <= Self.maxTokenBytes else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = claims
        }
    }
}
