import Foundation
import Synchronization

/// Token buckets keyed by subject or client address, in memory (each instance limits what it
/// serves; a fleet behind a load balancer multiplies the limit by its size). A bucket holds up to
/// `perMinute` requests and refills continuously.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: TimeInterval
    }

    private let perMinute: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(perMinute: Int) { self.perMinute = perMinute }

    /// Takes one request from `key`'s bucket; nil if allowed, else the seconds until one is free.
    public func take(_ key: String, now: TimeInterval = Date().timeIntervalSince1970) -> Int? {
        guard perMinute > 0 else { return nil }
        let capacity = Double(perMinute)
        let rate = capacity / 60
        return buckets.withLock { buckets in
            if buckets.count > 100_000 {
                // Forget buckets that have refilled completely: they are indistinguishable from new ones.
                buckets = buckets.filter { $0.value.tokens + (now - $0.value.updated) * rate < capacity }
            }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
