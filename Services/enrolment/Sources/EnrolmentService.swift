import Contracts
import Hummingbird
import ServiceRuntime

/// Enrolment (§1, §2, §14-16): who may join, their agreement, the credit registry and the
/// participation statistics. Writes `hpf.enrolment.events.v1`.
public enum EnrolmentService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "enrolment", schema: "enrolment", defaultPort: 8081,
                                                     migrations: EnrolmentMigrations.all)

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {
        let enrolments = EnrolmentHandlers(runtime: runtime)
        router.post("/v1/enrolments", use: enrolments.enrol)
        router.get("/v1/accounts/:accountNumber", use: enrolments.account)
        router.put("/v1/accounts/:accountNumber/agreement", use: enrolments.changeAgreement)
        router.get("/v1/statistics", use: enrolments.statistics)

        let credit = CreditRegistry(runtime: runtime)
        router.group("/v1/credit-records")
            .add(middleware: runtime.staffOnly)
            .post(use: credit.importRecords)
    }

    public static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription] {
        [CreditRegistry.loanRecords(runtime: runtime)]
    }
}
