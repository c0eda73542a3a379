import Hummingbird
import ServiceRuntime

/// The withdrawal service. It already runs as a real process: it migrates its own schema
/// (`withdrawal`), relays its outbox and serves /health, /ready and /metrics. Its business logic
/// (scheme §4, §8, §16 (issue 4)) is not built yet.
public enum WithdrawalService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "withdrawal", schema: "withdrawal", defaultPort: 8084, migrations: [])

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {}
}
