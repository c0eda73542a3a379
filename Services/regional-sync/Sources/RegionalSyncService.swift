import Hummingbird
import ServiceRuntime

/// The regional-sync service (§17): the border-region partner registry with each partner's
/// exchange switches and signing keys, and the signature rules of the partner feed. Transfers in
/// and out, recognised months and the partner simulator are still to come (issue 6).
public enum RegionalSyncService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "regional-sync", schema: "regional", defaultPort: 8086,
                                                     migrations: RegionalMigrations.all)

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {
        let registry = PartnerRegistry(runtime: runtime)
        router.get("/v1/partners", use: registry.list)
        let staff = runtime.staffOnly
        router.group("/v1/partners/:partnerCode").add(middleware: staff).put(use: registry.configure)
        router.group("/v1/partners/:partnerCode/keys").add(middleware: staff).post(use: registry.registerKey)
    }
}
