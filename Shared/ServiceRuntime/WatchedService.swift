import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Wraps a service so that a stop that does not finish is named: once the group asks it to stop
/// (graceful shutdown or cancellation), a service still running after `patience` is logged, and
/// again every `patience` after, so a shutdown that hangs says which part holds it.
struct WatchedService: Service, CustomStringConvertible {
    let base: any Service
    let logger: Logger
    var patience: Duration = .seconds(20)
    var description: String { "\(base)" }

    func run() async throws {
        let finished = Flag()
        let name = "\(base)"
        let logger = self.logger
        let patience = self.patience
        @Sendable func watch(_ reason: String) {
            Task.detached {
                var waited = Duration.zero
                while true {
                    try? await Task.sleep(for: patience)
                    waited += patience
                    if finished.isSet { return }
                    logger.error("service still stopping", metadata: ["service": "\(name)", "reason": "\(reason)", "seconds": "\(waited.components.seconds)"])
                }
            }
        }
        defer { finished.set() }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await base.run()
            } onGracefulShutdown: {
                watch("graceful shutdown")
            }
        } onCancel: {
            watch("cancelled")
        }
    }
}

/// A flag set once, read from any task.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
