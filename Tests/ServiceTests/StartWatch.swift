import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// An application that says when its start fails. HummingbirdTesting's live mode waits for the
/// server's port without a limit (and without heeding cancellation), and a start that fails before
/// the server binds (a migration, the preflight, the router) never gives one: the test hung,
/// silent, instead of failing with the service's own error.
struct StartWatchedApplication<Base: ApplicationProtocol>: ApplicationProtocol {
    typealias Responder = Base.Responder
    let base: Base
    /// Called with the error of a failed start.
    let onStartFailure: @Sendable (any Error) -> Void

    var responder: Responder {
        get async throws {
            do { return try await base.responder } catch {
                onStartFailure(error)
                throw error
            }
        }
    }
    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration }
    var logger: Logger { base.logger }
    @Sendable func onServerRunning(_ channel: any Channel) async { await base.onServerRunning(channel) }
    var services: [any Service] { base.services }
    var processesRunBeforeServerStart: [@Sendable () async throws -> Void] {
        base.processesRunBeforeServerStart.map { process in
            { [onStartFailure] in
                do { try await process() } catch {
                    onStartFailure(error)
                    throw error
                }
            }
        }
    }
}

/// A service of a test's stack that could not start.
struct StackServiceStartFailed: Error, CustomStringConvertible {
    let name: String
    let error: any Error
    var description: String { "\(name) did not start: \(String(reflecting: error))" }
}
