import Crypto
import Testing

@testable import ServiceRuntime

/// `ChannelKeyCache` on its own, on instants the test chooses: how long a key read from the
/// registry is used, and what a revocation on this instance does to it and to reads in flight.
/// (`AccessTests` checks the same through the routes, on the clock.)
@Suite("Channel key cache")
struct ChannelKeyCacheTests {
    let key = Curve25519.Signing.PrivateKey().publicKey
    let start = ContinuousClock.now

    @Test("a key read from the registry is used for less than its lifetime, counted from when the read began")
    func expiry() {
        let cache = ChannelKeyCache()
        cache.keep(key, channel: "wechat", keyId: "k1", readAt: start)
        #expect(cache.key(channel: "wechat", keyId: "k1", now: start + .milliseconds(999))?.rawRepresentation == key.rawRepresentation)
        #expect(cache.key(channel: "wechat", keyId: "k1", now: start + ChannelKeyCache.lifetime) == nil)
        #expect(cache.key(channel: "alipay", keyId: "k1", now: start) == nil, "a key is its channel's only")
        #expect(cache.key(channel: "wechat", keyId: "k2", now: start) == nil)
    }

    @Test("a revocation forgets the key, and a read begun before it is not kept; one begun after it is")
    func revocation() {
        let cache = ChannelKeyCache()
        cache.keep(key, channel: "wechat", keyId: "k1", readAt: start)
        let revoked = start + .milliseconds(100)
        cache.forget(channel: "wechat", keyId: "k1", now: revoked)
        #expect(cache.key(channel: "wechat", keyId: "k1", now: revoked) == nil)
        // A read that began before the revocation committed may have found the key still valid.
        cache.keep(key, channel: "wechat", keyId: "k1", readAt: start + .milliseconds(50))
        cache.keep(key, channel: "wechat", keyId: "k1", readAt: revoked)
        #expect(cache.key(channel: "wechat", keyId: "k1", now: revoked + .milliseconds(10)) == nil)
        // Another channel's key of the same id is not touched.
        cache.keep(key, channel: "alipay", keyId: "k1", readAt: start + .milliseconds(50))
        #expect(cache.key(channel: "alipay", keyId: "k1", now: revoked) != nil)
        // A read begun after the revocation saw the registry as it now is: kept.
        cache.keep(key, channel: "wechat", keyId: "k1", readAt: revoked + .milliseconds(1))
        #expect(cache.key(channel: "wechat", keyId: "k1", now: revoked + .milliseconds(10)) != nil)
    }

    @Test("other revocations do not drop a recent one's guard, however many there are")
    func manyRevocations() {
        let cache = ChannelKeyCache()
        let revoked = start + .milliseconds(100)
        cache.forget(channel: "wechat", keyId: "k1", now: revoked)
        for index in 0..<(ChannelKeyCache.capacity + 10) {
            cache.forget(channel: "wechat", keyId: "other-\(index)", now: revoked + .milliseconds(200))
        }
        cache.keep(key, channel: "wechat", keyId: "k1", readAt: start + .milliseconds(50))
        #expect(cache.key(channel: "wechat", keyId: "k1", now: revoked + .milliseconds(300)) == nil)
    }
}
