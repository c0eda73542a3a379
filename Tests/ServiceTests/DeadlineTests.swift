import ServiceRuntime
import Synchronization
import Testing

/// `withDeadline` on its own: the bound every group of work, relay round and probe runs under,
/// so that a connection that stops answering never holds its callers for ever.
@Suite("Deadlines")
struct DeadlineTests {
    /// What the work saw when it ended: nil while it has not, else whether it had been cancelled.
    final class Ending: Sendable {
        private let seen = Mutex<Bool?>(nil)
        func end(cancelled: Bool) { seen.withLock { $0 = cancelled } }
        var value: Bool? { seen.withLock { $0 } }
    }

    struct Refused: Error {}

    /// Work stuck like a query on a socket that ignores cancellation: it ends only when
    /// `release` opens, whatever happens to the task that runs it.
    static func stuck(until release: StartupGate, ending: Ending) async -> Int {
        _ = await Task.detached { await release.wait() }.value
        ending.end(cancelled: Task.isCancelled)
        return 1
    }

    @Test("work that ends in time gives its own answer, a value or an error")
    func inTime() async throws {
        #expect(try await withDeadline(seconds: 30) { 42 } == 42)
        await #expect(throws: Refused.self) { try await withDeadline(seconds: 30) { () async throws -> Int in throw Refused() } }
    }

    @Test("work past its deadline: the caller is answered with a timeout without waiting for it, and the work is cancelled")
    func late() async throws {
        let release = StartupGate()
        let ending = Ending()
        await #expect(throws: TimeoutError.self) { try await withDeadline(seconds: 0.2) { await Self.stuck(until: release, ending: ending) } }
        #expect(ending.value == nil, "the caller was answered while the work was still stuck")
        await release.open()
        #expect(try await TestStack.eventually { ending.value != nil }, "the work ends once released")
        #expect(ending.value == true, "and it had been cancelled at the deadline")
    }

    @Test("a cancelled caller stops waiting at once, however long the deadline and however stuck the work")
    func cancelledCaller() async throws {
        let release = StartupGate()
        let ending = Ending()
        let caller = Task { try await withDeadline(seconds: 3_600) { await Self.stuck(until: release, ending: ending) } }
        caller.cancel()
        await #expect(throws: CancellationError.self) { _ = try await caller.value }
        #expect(ending.value == nil, "answered while the work was still stuck")
        await release.open()
        #expect(try await TestStack.eventually { ending.value != nil })
        #expect(ending.value == true, "the work was cancelled with its caller")
    }
}
