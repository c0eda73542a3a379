import Contracts
import Hummingbird
import ServiceLifecycle
import ServiceRuntime

/// The loan service (§4-§7, §10, §18, §19): the one-thing application (one request, one decision
/// with every reason and the quota's factors), deposit-loan linkage, uplifts, the rate table,
/// schedules to the fen, and the shared fund pool's liquidity. Its facts come from the enrolment
/// and ledger events only. Writes `hpf.loan.events.v1`.
public struct LoanService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(
        name: "loan", schema: "loan", defaultPort: 8085, migrations: LoanMigrations.all,
        accountOwners: "participants")

    let runtime: ServiceRuntime
    /// Daily and on demand for staff: one job for both.
    let overdueCheck: DailyJob<OverdueJob.Summary>
    public let subscriptions: [EventSubscription]
    public let readModels: [ReadModel]

    public init(runtime: ServiceRuntime) {
        self.runtime = runtime
        overdueCheck = DailyJob("overdue check", runtime: runtime, didWork: { $0.overdueInstalments > 0 }) {
            try await OverdueJob(runtime: runtime).run(asOf: $0)
        }
        subscriptions = LoanReadModels.subscriptions(runtime: runtime)
        readModels = LoanReadModels.readModels(runtime: runtime)
    }

    public func addRoutes(to routes: Routes) {
        let applications = LoanApplications(runtime: runtime)
        routes.post("/v1/loan-applications", .holder(orStaff: .fundOfficer), use: applications.apply)
        routes.get("/v1/loan-applications/:applicationId", .holderOrAnyStaff, use: applications.get)
        routes.get("/v1/accounts/:accountNumber/loan-quota", .holderOrAnyStaff, use: applications.quota)
        // The spouse, signed in, consents to their balance counting in the applicant's application (§5).
        routes.post("/v1/accounts/:accountNumber/spouse-consents", .holder(), use: SpouseConsents(runtime: runtime).give)
        let loans = Loans.Handlers(runtime: runtime)
        routes.get("/v1/loans/:loanId", .holderOrAnyStaff, use: loans.get)
        routes.get("/v1/loans/:loanId/schedule", .holderOrAnyStaff, use: loans.schedule)
        // From the HPF balance: the holder (or an officer); by bank transfer: only the bank's signed feed.
        routes.post(
            "/v1/loans/:loanId/repayments", .holder(orStaff: .fundOfficer).orChannel(.bankFeed),
            use: Instalments.Handlers(runtime: runtime).repay)
        let pool = FundPool.Handlers(runtime: runtime)
        routes.get("/v1/fund-pool", .anyStaff, use: pool.get)
        routes.post("/v1/fund-pool/entries", .staff(.fundOfficer), use: pool.record)
        routes.post("/v1/fund-pool/rebuild", .staff(.fundOfficer), use: pool.rebuild)
        routes.post("/v1/jobs/overdue", .staff(.fundOfficer), use: overdueCheck.onDemand)
    }

    public var jobs: [any Service] { [overdueCheck] }
}
