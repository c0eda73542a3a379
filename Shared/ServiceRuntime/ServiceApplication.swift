import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The shape every service shares: a descriptor, its routes and its event subscriptions.
/// `buildApplication` is the composition root used by `main` and by tests alike.
public protocol HPFServiceModule {
    static var descriptor: ServiceDescriptor { get }
    /// The service's routes, each naming who may call it.
    static func addRoutes(to routes: Routes, runtime: ServiceRuntime)
    static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription]
    /// Background jobs of the service (daily jobs and the like).
    static func jobs(runtime: ServiceRuntime) -> [any Service]
    /// Signs records as the outbox relay publishes them (the partner feed); nil for none.
    static func recordSigner(runtime: ServiceRuntime) -> OutboxRelay.Signer?
}

public extension HPFServiceModule {
    static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription] { [] }
    static func jobs(runtime: ServiceRuntime) -> [any Service] { [] }
    static func recordSigner(runtime: ServiceRuntime) -> OutboxRelay.Signer? { nil }

    static func buildApplication(config: ServiceConfig? = nil, clock: BusinessClock? = nil) throws -> some ApplicationProtocol {
        let config = config ?? ServiceConfig(descriptor: descriptor)
        Observability.bootstrapMetrics()
        let runtime = try ServiceRuntime(descriptor: descriptor, config: config, clock: clock)
        return buildApplication(runtime: runtime)
    }

    static func buildApplication(runtime: ServiceRuntime) -> some ApplicationProtocol {
        let descriptor = Self.descriptor
        let routes = routeTable(runtime: runtime)
        var app = Application(
            router: routes.router,
            // The idle timeout also closes a connection whose request stops half-way (slow clients).
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(runtime.config.httpIdleTimeoutSeconds)))),
            configuration: .init(address: .hostname(runtime.config.httpHost, port: runtime.config.httpPort),
                                 serverName: "hpf-\(descriptor.name)"),
            logger: runtime.logger)
        let relay = OutboxRelay(database: runtime.database, producer: runtime.producer, signal: runtime.outboxSignal,
                                gate: runtime.gate, batchSize: runtime.config.relayBatchSize, signer: Self.recordSigner(runtime: runtime),
                                logger: runtime.logger)
        // Order matters for shutdown: services stop in reverse, so consumers and the relay stop
        // before the producer flushes and the database pool closes.
        app.addServices(runtime.database.client, runtime.producer, relay)
        app.addServices(Self.subscriptions(runtime: runtime).map { EventConsumerService(subscription: $0, runtime: runtime) })
        app.addServices(Self.jobs(runtime: runtime))
        app.beforeServerStarts {
            try await Migrator.migrate(database: runtime.database, migrations: descriptor.migrations)
            try await runtime.ensureTopics()
            await runtime.gate.open()
            runtime.logger.info("ready", metadata: ["service": "\(descriptor.name)", "port": "\(runtime.config.httpPort)"])
        }
        return app
    }

    /// Every route of the service (the runtime's own first), each behind its access middleware.
    static func routeTable(runtime: ServiceRuntime) -> Routes {
        let router = Router(context: HPFRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        let routes = Routes(router: router, control: runtime.access)
        RuntimeRoutes.add(to: routes, runtime: runtime)
        Self.addRoutes(to: routes, runtime: runtime)
        return routes
    }

    /// The executable's entry point: runs until SIGTERM/SIGINT (graceful shutdown); a failure
    /// (say, the database unreachable at start) is logged and ends the process with status 1,
    /// for the supervisor to restart it.
    static func main() async {
        let config = ServiceConfig(descriptor: descriptor)
        Observability.bootstrapProcess(config: config)
        do {
            let app = try buildApplication(config: config)
            try await app.runService()
        } catch let error as ConfigurationError {
            // A setting that would run the service wrongly: refuse to start, naming the variable.
            FileHandle.standardError.write(Data("hpf-\(descriptor.name): configuration refused: \(error)\n".utf8))
            exit(2)
        } catch {
            Logger(label: "hpf.\(descriptor.name)").critical("service stopped", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
