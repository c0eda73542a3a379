import Contracts
import Hummingbird
import ServiceLifecycle
import ServiceRuntime

/// The withdrawal service (§4, §8, §16): housing purchase, rural self-build, loan repayment, rent
/// and closure withdrawals as a saga over Kafka with the ledger (requested -> debited or refused
/// -> paid out, or reversed when the payout fails), and §8 rent plans paid directly to a
/// landlord each month. Reads the enrolment and ledger events; writes `hpf.withdrawal.events.v1`.
public enum WithdrawalService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "withdrawal", schema: "withdrawal", defaultPort: 8084,
                                                     migrations: WithdrawalMigrations.all)

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {
        let withdrawals = WithdrawalHandlers(runtime: runtime)
        router.post("/v1/withdrawals", use: withdrawals.request)
        router.get("/v1/withdrawals/:withdrawalId", use: withdrawals.get)
        router.get("/v1/accounts/:accountNumber/withdrawals", use: withdrawals.list)
        let plans = RentPlans.Handlers(runtime: runtime)
        router.post("/v1/rent-plans", use: plans.create)
        router.get("/v1/rent-plans/:planId", use: plans.get)
        let staff = runtime.staffOnly
        // The payment channel authenticates like staff (a bearer token).
        router.group("/v1/payouts/:payoutId/confirmation").add(middleware: staff).post(use: PayoutConfirmations(runtime: runtime).confirm)
        router.group("/v1/jobs/rent-payments").add(middleware: staff).post(use: rentPayments(runtime).onDemand)
    }

    public static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription] {
        [WithdrawalAccounts.subscription(runtime: runtime), LedgerOutcomes.subscription(runtime: runtime)]
    }

    public static func jobs(runtime: ServiceRuntime) -> [any Service] { [rentPayments(runtime)] }

    static func rentPayments(_ runtime: ServiceRuntime) -> DailyJob<RentPaymentJob.Summary> {
        DailyJob("rent payments", runtime: runtime, didWork: { $0.monthsRequested > 0 }) { try await RentPaymentJob(runtime: runtime).run(asOf: $0) }
    }
}
