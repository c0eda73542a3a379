import Hummingbird
import ServiceRuntime
import Testing

/// The test harness itself (`TestStack.withServices`): a service that does not stop must not
/// hold the suite for ever.
@Suite("The live test stack")
struct LiveStackTests {
    @Test("a service with a request that never ends is cancelled at the shutdown deadline, not waited on for ever")
    func stuckShutdown() async throws {
        let handling = Flag(), cancelled = Flag()
        let router = Router()
        // Waits until cancelled: as a handler stuck on an await that only cancellation ends.
        router.get("/stuck") { _, _ -> String in
            handling.set()
            if await !StartupGate().wait() { cancelled.set() }
            return "ended"
        }
        let app = Application(router: router)
        // Bounded itself, so that a harness without the deadline fails here instead of hanging.
        try await withDeadline(seconds: Double(StackService.shutdownSeconds) + 120) { () async throws -> Void in
            try await TestStack.withServices([StackService(name: "stuck", app)]) { stack async throws in
                let client = stack["stuck"]
                // Left in flight when the body ends.
                Task { _ = try? await client.get("/stuck") }
                #expect(try await TestStack.eventually { handling.isSet }, "the request reached its handler")
            }
        }
        #expect(cancelled.isSet, "the stuck handler was cancelled, and the stack stopped")
    }

    @Test("a service whose start fails fails its test with the service's error, instead of hanging before its port")
    func failedStart() async throws {
        struct MigrationRefused: Error {}
        var refusing = Application(router: Router())
        refusing.beforeServerStarts { throw MigrationRefused() }
        let app = refusing
        let bodyRan = Flag()
        // Bounded itself, so that a harness that waits for the port fails here instead of hanging.
        let outcome: (any Error)? = try await withDeadline(seconds: 120) { () async throws -> (any Error)? in
            do {
                try await TestStack.withServices([StackService(name: "refused", app)]) { _ in bodyRan.set() }
                return nil
            } catch { return error }
        }
        let failed = try #require(outcome as? StackServiceStartFailed, "the stack reports the failed start: \(String(describing: outcome))")
        #expect(failed.name == "refused" && failed.error is MigrationRefused)
        #expect(!bodyRan.isSet, "the test's body does not run on a stack that did not start")
    }
}
