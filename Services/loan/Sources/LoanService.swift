import Hummingbird
import ServiceRuntime

/// The loan service. It already runs as a real process: it migrates its own schema
/// (`loan`), relays its outbox and serves /health, /ready and /metrics. Its business logic
/// (scheme §4-7, §10, §13, §18, §19 (issue 5)) is not built yet.
public enum LoanService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "loan", schema: "loan", defaultPort: 8085, migrations: [])

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {}
}
