import Contracts
import Hummingbird
import ServiceRuntime

/// Enrolment (§1, §2, §14-16): who may join, their agreement, the credit registry and the
/// participation statistics. Writes `hpf.enrolment.events.v1`.
public struct EnrolmentService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(
        name: "enrolment", schema: "enrolment", defaultPort: 8081,
        migrations: EnrolmentMigrations.all, sealedColumns: SealedAccountData.all)

    let runtime: ServiceRuntime
    public let subscriptions: [EventSubscription]

    public init(runtime: ServiceRuntime) {
        self.runtime = runtime
        subscriptions = [CreditRegistry.loanRecords(runtime: runtime), AccountClosures.subscription(runtime: runtime)]
    }

    public func addRoutes(to routes: Routes) {
        let enrolments = EnrolmentHandlers(runtime: runtime)
        // A citizen enrols with their own ID number; an officer may enrol someone (recorded).
        routes.post("/v1/enrolments", .citizen(orStaff: .enrolmentOfficer), use: enrolments.enrol)
        routes.get("/v1/accounts/:accountNumber", .holderOrAnyStaff, use: enrolments.account)
        routes.put("/v1/accounts/:accountNumber/agreement", .holder(orStaff: .enrolmentOfficer), use: enrolments.changeAgreement)
        routes.get("/v1/statistics", .anyStaff, use: enrolments.statistics)
        routes.post("/v1/credit-records", .staff(.fundOfficer), use: CreditRegistry(runtime: runtime).importRecords)
    }
}
