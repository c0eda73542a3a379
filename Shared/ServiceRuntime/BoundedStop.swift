import Logging
import ServiceLifecycle
import Synchronization

/// Runs a service's loop so that stopping it is bounded: on graceful shutdown or cancellation the
/// loop is cancelled, and if it has not returned within `patience` (a step that does not heed
/// cancellation: a call waiting on the database or the broker) the service returns anyway and
/// leaves the loop to end on its own. A stop that hangs would otherwise hold the whole process
/// (and a test run) until something outside killed it.
public enum BoundedStop {
    public static func run(
        _ name: String, patience: Duration = .seconds(15), logger: Logger,
        _ loop: @escaping @Sendable () async throws -> Void
    ) async throws {
        let work = Task { try await loop() }
        let outcome = Outcome()
        Task { outcome.finish(await work.result) }
        @Sendable func stop() {
            work.cancel()
            Task {
                try? await Task.sleep(for: patience)
                if outcome.finish(.success(())) {
                    logger.error(
                        "service stop abandoned after its patience",
                        metadata: [
                            "service": "\(name)", "seconds": "\(patience.components.seconds)",
                        ])
                }
            }
        }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await outcome.value().get()
            } onGracefulShutdown: {
                stop()
            }
        } onCancel: {
            stop()
        }
    }

    /// The first result wins: the loop's own end, or the patience running out.
    final class Outcome: Sendable {
        private enum State {
            case waiting(CheckedContinuation<Result<Void, any Error>, Never>?)
            case finished(Result<Void, any Error>)
        }

        private let state = Mutex(State.waiting(nil))

        /// True when this call decided the outcome.
        @discardableResult
        func finish(_ result: Result<Void, any Error>) -> Bool {
            let waiter: CheckedContinuation<Result<Void, any Error>, Never>?? = state.withLock { state in
                guard case .waiting(let continuation) = state else { return nil }
                state = .finished(result)
                return .some(continuation)
            }
            guard let waiter else { return false }
            waiter?.resume(returning: result)
            return true
        }

        func value() async -> Result<Void, any Error> {
            await withCheckedContinuation { continuation in
                let ready: Result<Void, any Error>? = state.withLock { state in
                    switch state {
                    case .finished(let result): return result
                    case .waiting:
                        state = .waiting(continuation)
                        return nil
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

/// A service whose stop is bounded (`BoundedStop`): the database pool, whose stop waits for every
/// leased connection to come back. A consumer loop abandoned after its own patience can still hold
/// one (a step that does not heed cancellation), and the pool's stop then held the process, and a
/// full test run on a loaded machine, for good (seen: 27 minutes, "service still stopping").
struct PatientService: Service, CustomStringConvertible {
    let base: any Service
    let patience: Duration
    let logger: Logger
    var description: String { "\(base)" }

    func run() async throws {
        let base = self.base
        try await BoundedStop.run(description, patience: patience, logger: logger) { try await base.run() }
    }
}
