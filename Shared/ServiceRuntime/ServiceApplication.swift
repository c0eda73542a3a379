import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The shape every service shares: a descriptor, its routes and its event subscriptions.
/// `buildApplication` is the composition root used by `main` and by tests alike.
public protocol HPFServiceModule {
    static var descriptor: ServiceDescriptor { get }
    static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime)
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
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        HealthRoutes.add(to: router, runtime: runtime)
        Self.addRoutes(to: router, runtime: runtime)

        var app = Application(
            router: router,
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

    /// The executable's entry point: runs until SIGTERM/SIGINT (graceful shutdown); a failure
    /// (say, the database unreachable at start) is logged and ends the process with status 1,
    /// for the supervisor to restart it.
    static func main() async {
        let config = ServiceConfig(descriptor: descriptor)
        Observability.bootstrapProcess(config: config)
        do {
            let app = try buildApplication(config: config)
            try await app.runService()
        } catch {
            Logger(label: "hpf.\(descriptor.name)").critical("service stopped", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
