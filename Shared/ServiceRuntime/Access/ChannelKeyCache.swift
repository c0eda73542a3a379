import Crypto
import Synchronization

/// The channels' approved, unrevoked public keys as last read from `channel_keys`, each kept for
/// at most `lifetime`. Every signed request needs its key before its signature can be checked,
/// and a read of the registry per request was one more statement per deposit than the group
/// commits leave (3.2 statements a deposit with development keys, which are not read, against
/// 4.2 with registered ones). Only keys found are kept: a key approved a moment ago signs at
/// once, and unknown key ids (whoever sends them) are not remembered. A revocation holds at once
/// on the instance that made it (`forget`), and on the service's other instances within
/// `lifetime`.
final class ChannelKeyCache: Sendable {
    /// How long a key read from the registry is used without reading it again.
    static let lifetime: Duration = .seconds(1)
    /// At most this many keys (a channel has one or two at a time); cleared when full.
    static let capacity = 1_000

    struct Name: Hashable {
        let channel: String
        let keyId: String
    }

    private struct State {
        var keys: [Name: (key: Curve25519.Signing.PublicKey, readAt: ContinuousClock.Instant)] = [:]
        /// When each key was forgotten: a read that began before it may have seen the key still
        /// valid, and is not kept.
        var forgotten: [Name: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())

    /// The key read for `channel` and `keyId` within `lifetime` before `now`, if any.
    func key(channel: String, keyId: String, now: ContinuousClock.Instant = .now) -> Curve25519.Signing.PublicKey? {
        state.withLock { state in
            guard let entry = state.keys[Name(channel: channel, keyId: keyId)], now - entry.readAt < Self.lifetime else { return nil }
            return entry.key
        }
    }

    /// Keeps `key`, read from the registry at `readAt` (taken before the read: a revocation the
    /// read missed is then forgotten no later than `lifetime` after it).
    func keep(_ key: Curve25519.Signing.PublicKey, channel: String, keyId: String, readAt: ContinuousClock.Instant) {
        let name = Name(channel: channel, keyId: keyId)
        state.withLock { state in
            if let forgotten = state.forgotten[name], readAt <= forgotten { return }
            if state.keys.count >= Self.capacity { state.keys.removeAll(keepingCapacity: true) }
            state.keys[name] = (key, readAt)
        }
    }

    /// Forgets `channel`'s key `keyId` (its revocation on this instance, once committed), and
    /// refuses to keep what a read that began before now found.
    func forget(channel: String, keyId: String, now: ContinuousClock.Instant = .now) {
        let name = Name(channel: channel, keyId: keyId)
        state.withLock { state in
            state.keys[name] = nil
            // A mark older than `lifetime` guards nothing: a read begun before it would be kept
            // already expired. So the marks are those of the last second's revocations.
            state.forgotten = state.forgotten.filter { now - $0.value < Self.lifetime }
            state.forgotten[name] = now
        }
    }
}
