import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// The backstop of shutdown: once a stop begins, the process ends within a limit even if some
/// part never finishes (a task that ignores cancellation, a client waiting on its broker), so a
/// supervisor's stop never hangs and a service that failed at start does not linger looking alive.
/// Only the executable arms it; tests run services in their own process.
enum ShutdownDeadline {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    /// SIGTERM or SIGINT: the graceful shutdown gets `seconds` (plus five for the last flush).
    static func arm(seconds: Int, logger: Logger) {
        for signal in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { start(seconds: seconds + 5, reason: "graceful shutdown", logger: logger) }
            source.resume()
            sources.append(source)
        }
    }

    static func start(seconds: Int, reason: String, logger: Logger) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) {
            logger.critical("\(reason) took longer than its limit; exiting", metadata: ["limitSeconds": "\(seconds)"])
            exit(1)
        }
    }

    /// A service beside the others that only waits: when the group stops it, because another
    /// service failed (the HTTP port taken, say) or because of a graceful shutdown, it starts the
    /// deadline.
    struct Watch: Service, CustomStringConvertible {
        let seconds: Int
        let logger: Logger
        var description: String { "ShutdownDeadline.Watch" }

        func run() async throws {
            do {
                try await gracefulShutdown()
                ShutdownDeadline.start(seconds: seconds + 5, reason: "graceful shutdown", logger: logger)
            } catch {
                // Cancelled: another service failed; what is left gets a few seconds.
                ShutdownDeadline.start(seconds: min(seconds, 5), reason: "stopping after a failure", logger: logger)
            }
        }
    }
}
