import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The shape every service shares: a descriptor, and an instance built once per process from
/// its runtime, from which come its routes, event subscriptions, jobs and record signer. The
/// parts these share (a job and its on-demand route, the partner feed of routes, consumers and
/// signer) are therefore built once; `init` may throw, so a part that refuses its settings stops
/// the service at construction, before anything runs. `buildApplication` is the composition root used by `main`
/// and by tests alike.
public protocol HPFServiceModule: Sendable {
    static var descriptor: ServiceDescriptor { get }
    /// Builds the service's parts on `runtime` (once per process).
    init(runtime: ServiceRuntime) throws
    /// The service's routes, each naming who may call it.
    func addRoutes(to routes: Routes)
    var subscriptions: [EventSubscription] { get }
    /// Background jobs of the service (daily jobs and the like).
    var jobs: [any Service] { get }
    /// Signs records as the outbox relay publishes them (the partner feed); nil for none.
    var recordSigner: OutboxRelay.Signer? { get }
    /// Topics beyond the catalogue that the service writes (each partner city's own), created at start.
    var extraTopics: [String] { get }
    /// The read models its consumers build, each with the projection a rebuild replays.
    var readModels: [ReadModel] { get }
}

public extension HPFServiceModule {
    var subscriptions: [EventSubscription] { [] }
    var jobs: [any Service] { [] }
    var recordSigner: OutboxRelay.Signer? { nil }
    var extraTopics: [String] { [] }
    var readModels: [ReadModel] { [] }

    static func buildApplication(config: ServiceConfig? = nil, clock: BusinessClock? = nil, extraServices: [any Service] = []) throws
        -> some ApplicationProtocol
    {
        let config = config ?? ServiceConfig(descriptor: descriptor)
        Observability.bootstrapMetrics()
        let runtime = try ServiceRuntime(descriptor: descriptor, config: config, clock: clock)
        return buildApplication(module: try Self(runtime: runtime), runtime: runtime, extraServices: extraServices)
    }

    static func buildApplication(module: Self, runtime: ServiceRuntime, extraServices: [any Service] = []) -> some ApplicationProtocol {
        let descriptor = Self.descriptor
        let routes = routeTable(module: module, runtime: runtime)
        var app = Application(
            router: routes.router,
            // The idle timeout also closes a connection whose request stops half-way (slow clients).
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(runtime.config.httpIdleTimeoutSeconds)))),
            configuration: .init(
                address: .hostname(runtime.config.httpHost, port: runtime.config.httpPort),
                serverName: "hpf-\(descriptor.name)"),
            // "ready" only once the port is bound: a supervisor or a script waiting for the line
            // can call the service at once (the port is the bound one when HPF_HTTP_PORT is 0).
            onServerRunning: { channel in
                runtime.logger.info("ready", metadata: ["service": "\(descriptor.name)", "port": "\(channel.localAddress?.port ?? runtime.config.httpPort)"])
            },
            logger: runtime.logger)
        let relay = OutboxRelay(
            database: runtime.database, producer: runtime.producer, signal: runtime.outboxSignal,
            gate: runtime.gate, batchSize: runtime.config.relayBatchSize, signer: signer(module: module, runtime: runtime),
            logger: runtime.logger)
        // Order matters for shutdown: services stop in reverse, so consumers and the relay stop
        // before the producer flushes and the database pool closes.
        HPFMetrics.buildInfo(service: descriptor.name, version: SuiteVersion.current).set(to: 1)
        let consumers = module.subscriptions.map { EventConsumerService(subscription: $0, runtime: runtime) }
        consumers.forEach(runtime.consumers.register)
        module.readModels.forEach(runtime.readModels.register)
        let pool = PatientService(base: runtime.database.client, patience: .seconds(30), logger: runtime.logger)
        let watched = { (service: any Service) -> any Service in WatchedService(base: service, logger: runtime.logger) }
        // The consumers stop together (each leaving its group takes the broker a while), after the
        // jobs and before the relay.
        let together: [any Service] = consumers.isEmpty ? [] : [SideBySideServices(consumers.map(watched))]
        app.addServices([pool, runtime.producer, relay].map(watched) + together + module.jobs.map(watched))
        app.addServices(extraServices)
        app.beforeServerStarts {
            do {
                try await DatabasePreflight.check(config: runtime.config, logger: runtime.logger)
                try await Migrator.migrate(config: runtime.config, descriptor: descriptor, logger: runtime.logger)
                // Personal data written before sealing existed is sealed before anything reads it.
                let sealed = try await PersonalDataResealing.run(
                    columns: descriptor.sealedColumns, cipher: runtime.personalData,
                    database: runtime.database, logger: runtime.logger, onlyClear: true)
                if sealed.total > 0 { runtime.logger.notice("sealed personal data stored in clear", metadata: ["columns": "\(sealed)"]) }
                try await runtime.ensureTopics(extra: module.extraTopics)
                await runtime.gate.open()
            } catch {
                runtime.logger.error("start failed", metadata: ["error": "\(String(reflecting: error))"])
                throw error
            }
        }
        return app
    }

    /// Every record is signed with the service's event key; the partner feed also carries the
    /// partner signature on top.
    static func signer(module: Self, runtime: ServiceRuntime) -> OutboxRelay.Signer {
        let event = runtime.eventSigner
        guard let partner = module.recordSigner else { return event }
        return { topic, value in
            var fields = try event(topic, value) ?? [:]
            if let signed = try partner(topic, value) { fields.merge(signed) { $1 } }
            return fields
        }
    }

    /// The route table of a module built on `runtime` (what the access tests read).
    static func routeTable(runtime: ServiceRuntime) throws -> Routes { routeTable(module: try Self(runtime: runtime), runtime: runtime) }

    /// Every route of the service (the runtime's own first), each behind its access middleware.
    static func routeTable(module: Self, runtime: ServiceRuntime) -> Routes {
        let router = Router(context: HPFRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: runtime.logger))
        router.add(middleware: HTTPMetricsMiddleware(service: runtime.descriptor.name))
        router.add(middleware: ProblemMiddleware())
        let routes = Routes(router: router, control: runtime.access)
        RuntimeRoutes.add(to: routes, runtime: runtime)
        module.addRoutes(to: routes)
        return routes
    }

    /// The executable's entry point: runs until SIGTERM/SIGINT (graceful shutdown, at most
    /// HPF_SHUTDOWN_TIMEOUT seconds); a setting that would run the service wrongly ends it at
    /// start with status 2 and one line naming the variable; any other failure (the port taken,
    /// say) is logged and ends the process with status 1, for the supervisor to restart it.
    static func main() async {
        let config = ServiceConfig(descriptor: descriptor)
        if let problem = config.problems.first {
            refuse(problem)
        }
        Observability.bootstrapProcess(config: config)
        if CommandLine.arguments.dropFirst().first == "reseal-personal-data" {
            exit(await resealPersonalData(config: config))
        }
        let logger = Logger(label: "hpf.\(descriptor.name)")
        // What the service runs with, secrets redacted: the first thing an operator asks.
        logger.info("settings", metadata: config.effectiveSettings.mapValues { .string($0) })
        if !config.isDevelopment, !config.transport.unencryptedLinks.isEmpty {
            logger.warning("links not encrypted", metadata: ["links": "\(config.transport.unencryptedLinks.joined(separator: ", "))"])
        }
        ShutdownDeadline.arm(seconds: config.shutdownTimeoutSeconds, logger: logger)
        do {
            let app = try buildApplication(config: config, extraServices: [ShutdownDeadline.Watch(seconds: config.shutdownTimeoutSeconds, logger: logger)])
            var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = .seconds(config.shutdownTimeoutSeconds)
            group.maximumCancellationDuration = .seconds(5)
            try await ServiceGroup(configuration: group).run()
        } catch let error as ConfigurationError {
            refuse(error)
        } catch {
            logger.critical("service stopped", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }

    private static func refuse(_ error: ConfigurationError) -> Never {
        FileHandle.standardError.write(Data("hpf-\(descriptor.name): configuration refused: \(error)\n".utf8))
        exit(2)
    }
}
