import Contracts
import Hummingbird
import ServiceLifecycle
import ServiceRuntime

/// The loan service (§4-§7, §10, §18, §19): the one-thing application (one request, one decision
/// with every reason and the quota's factors), deposit-loan linkage, uplifts, the rate table,
/// schedules to the fen, and the shared fund pool's liquidity. Its facts come from the enrolment
/// and ledger events only. Writes `hpf.loan.events.v1`.
public enum LoanService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "loan", schema: "loan", defaultPort: 8085, migrations: LoanMigrations.all)

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {
        let applications = LoanApplications(runtime: runtime)
        router.post("/v1/loan-applications", use: applications.apply)
        router.get("/v1/loan-applications/:applicationId", use: applications.get)
        router.get("/v1/accounts/:accountNumber/loan-quota", use: applications.quota)
        let loans = Loans.Handlers(runtime: runtime)
        router.get("/v1/loans/:loanId", use: loans.get)
        router.get("/v1/loans/:loanId/schedule", use: loans.schedule)
        router.post("/v1/loans/:loanId/repayments", use: Instalments.Handlers(runtime: runtime).repay)
        let pool = FundPool.Handlers(runtime: runtime)
        router.get("/v1/fund-pool", use: pool.get)
        router.group("/v1/fund-pool/entries").add(middleware: runtime.staffOnly).post(use: pool.record)
        router.group("/v1/jobs/overdue").add(middleware: runtime.staffOnly).post(use: overdueCheck(runtime).onDemand)
    }

    public static func jobs(runtime: ServiceRuntime) -> [any Service] { [overdueCheck(runtime)] }

    static func overdueCheck(_ runtime: ServiceRuntime) -> DailyJob<OverdueJob.Summary> {
        DailyJob("overdue check", runtime: runtime, didWork: { $0.overdueInstalments > 0 }) { try await OverdueJob(runtime: runtime).run(asOf: $0) }
    }

    public static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription] {
        LoanReadModels.subscriptions(runtime: runtime)
    }
}
