import Logging
import ServiceLifecycle
import ServiceRuntime
import Synchronization
import Testing

/// `SideBySideServices` runs a service's consumers as one member of the application's group, so
/// that their stops overlap instead of running one after another.
@Suite("services side by side")
struct SideBySideServicesTests {
    struct Failed: Error {}
    struct StoppedAlone: Error {}

    /// Counts the members that started and the members told to stop.
    final class Tally: Sendable {
        private let counts = Mutex((started: 0, stopping: 0))
        func start() { counts.withLock { $0.started += 1 } }
        func stop() { counts.withLock { $0.stopping += 1 } }
        var started: Int { counts.withLock { $0.started } }
        var stopping: Int { counts.withLock { $0.stopping } }
    }

    /// Stops only once every member was told to stop: in a group that stops its members one after
    /// another, the first would wait for the others for ever (here: until a generous deadline).
    struct StopsWithTheOthers: Service {
        let tally: Tally
        let members: Int

        func run() async throws {
            tally.start()
            try await gracefulShutdown()
            tally.stop()
            guard try await TestStack.eventually(seconds: 60, { tally.stopping >= members }) else { throw StoppedAlone() }
        }
    }

    struct Fails: Service {
        func run() async throws { throw Failed() }
    }

    /// Runs until cancelled (a day at most).
    struct RunsUntilCancelled: Service {
        func run() async throws { try await Task.sleep(for: .seconds(86_400)) }
    }

    @Test("a graceful shutdown reaches every member at once, so their stops overlap", .timeLimit(.minutes(3)))
    func stopsOverlap() async throws {
        let tally = Tally()
        let members = 3
        let services = SideBySideServices((0..<members).map { _ in StopsWithTheOthers(tally: tally, members: members) })
        let group = ServiceGroup(configuration: .init(services: [services], logger: Logger(label: "hpf.test")))
        try await withThrowingTaskGroup(of: Void.self) { running in
            running.addTask { try await group.run() }
            #expect(try await TestStack.eventually(seconds: 60) { tally.started == members }, "every member started")
            await group.triggerGracefulShutdown()
            try await running.waitForAll()
        }
        #expect(tally.stopping == members)
    }

    struct Returns: Service {
        func run() async throws {}
    }

    @Test("a member that returns before it was told to stop ends the service with an error", .timeLimit(.minutes(3)))
    func earlyReturnEndsTheService() async {
        let services = SideBySideServices([RunsUntilCancelled(), Returns()])
        await #expect(throws: ServiceGroupError.self) { try await services.run() }
    }

    @Test("the first member that fails cancels the others and its error is the service's", .timeLimit(.minutes(3)))
    func failureCancelsTheOthers() async {
        let services = SideBySideServices([RunsUntilCancelled(), Fails(), RunsUntilCancelled()])
        await #expect(throws: Failed.self) { try await services.run() }
    }
}
