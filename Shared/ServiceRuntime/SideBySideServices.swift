import ServiceLifecycle

/// Several services run as one, side by side: a service's event consumers. The group that owns
/// the application stops its services one after another, in reverse order, and a consumer's stop
/// waits for its poll in flight and for the broker to let it leave its group (0.5-1 s each, seen
/// in the debug log); side by side, a service's consumers stop in the time of the slowest instead
/// of the sum. A graceful shutdown of this service reaches every one of them (child tasks inherit
/// the group's shutdown signal); the first that fails, or returns before it was told to stop,
/// cancels the others, and its error is this service's error, as it was when each ran in the
/// group on its own. (The error reaches the group once the others have stopped.)
public struct SideBySideServices: Service, CustomStringConvertible {
    let services: [any Service]

    public init(_ services: [any Service]) {
        self.services = services
    }

    public var description: String { "side by side [" + services.map { "\($0)" }.joined(separator: ", ") + "]" }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask {
                    try await service.run()
                    // A member ends on its own only when told to stop. Otherwise part of the service
                    // has gone (a topic no longer consumed) while the rest runs on: end the service,
                    // as the group ends it when one of its own members returns.
                    if !Task.isShuttingDownGracefully, !Task.isCancelled {
                        throw ServiceGroupError.serviceFinishedUnexpectedly(service: "\(service)")
                    }
                }
            }
            do {
                // Not `waitForAll`: it would wait for the others before rethrowing a failure.
                for try await _ in group {}
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
