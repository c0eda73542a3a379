import Foundation

/// Keeps a librdkafka handle alive while anyone is using it. Every call on a handle enters the
/// gate; destroying the handle first closes the gate (later calls are refused) and waits for the
/// calls inside to leave. Without it a call racing a stop used freed memory: a readiness probe
/// answered while the producer was being destroyed, or a consumer loop abandoned by a bounded
/// stop storing an offset as its consumer closed (librdkafka's handles are not safe to use once
/// `rd_kafka_destroy` has begun).
final class HandleGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var users = 0
    private var closed = false

    /// True when the caller may use the handle; it must then `leave()`.
    func enter() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        users += 1
        return true
    }

    func leave() {
        condition.lock()
        defer { condition.unlock() }
        users -= 1
        // Only a close waits, and only once the gate is closed.
        if users == 0, closed { condition.broadcast() }
    }

    /// Refuses new users and waits until the current ones have left. True for the one caller
    /// that closed it (who then owns the handle's destruction).
    func close() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        closed = true
        while users > 0 { condition.wait() }
        return true
    }
}
