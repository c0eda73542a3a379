import Hummingbird
import HummingbirdTesting
import Policy
import ServiceRuntime
import Testing

/// One service of a test's stack: how to start it live, and the name its client goes by.
struct StackService: Sendable {
    let name: String
    /// Starts the application on a port of its own, hands its client to the body, and stops it.
    let run: @Sendable (@escaping @Sendable (JSONClient) async throws -> Void) async throws -> Void

    /// A service module on the test stack's configuration (or `config`), on `clock`; called by
    /// the service's name unless the test runs several instances (`name`).
    init<Module: HPFServiceModule>(
        _ module: Module.Type, clock: BusinessClock = TestStack.clock, config: ServiceConfig? = nil,
        name: String? = nil
    ) throws {
        self.init(
            name: name ?? module.descriptor.name,
            try module.buildApplication(config: config ?? TestStack.config(module.descriptor), clock: clock))
    }

    /// How long a service may take to stop gracefully once the test's body has ended before it is
    /// cancelled: what `HPF_SHUTDOWN_TIMEOUT` (default 30 s) and the service group's
    /// `maximumGracefulShutdownDuration` do for a deployed service. HummingbirdTesting's live mode
    /// sets no such limit, and its HTTP server waits for every connection handler, which ends
    /// only when cancelled: one request that never completes held a fresh-clone run for ever.
    static let shutdownSeconds = 30

    /// An application built by the test itself (a module with other routes, say), called `name`.
    init<App: ApplicationProtocol>(name: String, _ app: App) {
        self.name = name
        self.run = { body in
            // The first of: the live run's end, or its start failing (after which the live run
            // waits for ever for a port: it is left behind).
            let (ends, end) = AsyncStream<Result<Void, any Error>>.makeStream()
            let watched = StartWatchedApplication(base: app) { error in
                end.yield(.failure(StackServiceStartFailed(name: name, error: error)))
            }
            let stopping = StartupGate()
            let live = Task {
                try await watched.test(.live) { client in
                    do { try await body(JSONClient(client: client)) } catch {
                        await stopping.open()
                        throw error
                    }
                    await stopping.open()
                }
            }
            Task { end.yield(await live.result) }
            let deadline = Task {
                guard await stopping.wait() else { return }
                try await Task.sleep(for: .seconds(Self.shutdownSeconds))
                // Said in the run's output, as a deployed service logs it, and then cancelled as
                // its service group would: the test's own expectations decide whether it failed.
                print("test stack: \(name) had not stopped \(Self.shutdownSeconds) s after its test's body ended; cancelled")
                live.cancel()
            }
            defer { deadline.cancel() }
            try await withTaskCancellationHandler {
                var first = ends.makeAsyncIterator()
                guard let outcome = await first.next() else { throw CancellationError() }
                try outcome.get()
            } onCancel: {
                live.cancel()
                end.finish()
            }
        }
    }
}

/// The clients of a live stack, by service name.
struct LiveServices: Sendable {
    let clients: [String: JSONClient]
    subscript(_ service: String) -> JSONClient {
        guard let client = clients[service] else { preconditionFailure("the test's stack has no \(service)") }
        return client
    }
    var enrolment: JSONClient { self["enrolment"] }
    /// The contribution service, which keeps the account ledger.
    var ledger: JSONClient { self["contribution"] }
    var subsidy: JSONClient { self["subsidy"] }
    var withdrawal: JSONClient { self["withdrawal"] }
    var loan: JSONClient { self["loan"] }
    var regional: JSONClient { self["regional-sync"] }
}

extension TestStack {
    /// Runs `services` live, each on a port of its own and called over real HTTP, hands their
    /// clients to `body`, and stops them all, the last started first, whether `body` succeeds or
    /// throws. The one harness of the suite's service tests.
    static func withServices(_ services: [StackService], _ body: @escaping @Sendable (LiveServices) async throws -> Void) async throws {
        try await start(services[...], clients: [:], body)
    }

    private static func start(
        _ rest: ArraySlice<StackService>, clients: [String: JSONClient],
        _ body: @escaping @Sendable (LiveServices) async throws -> Void
    ) async throws {
        guard let next = rest.first else { return try await body(LiveServices(clients: clients)) }
        try await next.run { client in
            var more = clients
            more[next.name] = client
            try await start(rest.dropFirst(), clients: more, body)
        }
    }

    /// Enrols a person with `body` (as `caller`) and waits until the ledger has opened the account,
    /// that is until the account-opened event has crossed Kafka; returns the account number.
    static func enrol(_ enrolment: JSONClient, _ ledger: JSONClient, _ body: String, as caller: TestIdentity? = nil) async throws -> String {
        let enrolled = try await enrolment.post("/v1/enrolments", body, as: caller)
        let account = try #require(enrolled.string("accountNumber"), "\(enrolled.text)")
        #expect(
            try await eventually { try await ledger.get("/v1/accounts/\(account)/balance").status == 200 },
            "the ledger opens the account from the account-opened event")
        return account
    }
}
