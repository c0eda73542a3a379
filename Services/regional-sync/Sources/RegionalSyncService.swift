import Hummingbird
import ServiceRuntime

/// The regional-sync service. It already runs as a real process: it migrates its own schema
/// (`regional`), relays its outbox and serves /health, /ready and /metrics. Its business logic
/// (scheme §17 (issue 6)) is not built yet.
public enum RegionalSyncService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "regional-sync", schema: "regional", defaultPort: 8086, migrations: [])

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {}
}
