import Hummingbird
import ServiceRuntime

/// The subsidy service. It already runs as a real process: it migrates its own schema
/// (`subsidy`), relays its outbox and serves /health, /ready and /metrics. Its business logic
/// (scheme §3, §11, §12 (issue 3)) is not built yet.
public enum SubsidyService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "subsidy", schema: "subsidy", defaultPort: 8083, migrations: [])

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {}
}
