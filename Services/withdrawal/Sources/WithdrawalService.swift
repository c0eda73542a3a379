import Contracts
import Hummingbird
import ServiceLifecycle
import ServiceRuntime

/// The withdrawal service (§4, §8, §16): housing purchase, rural self-build, loan repayment, rent
/// and closure withdrawals as a saga over Kafka with the ledger (requested -> debited or refused
/// -> paid out, or reversed when the payout fails), and §8 rent plans paid directly to a
/// landlord each month. Reads the enrolment and ledger events; writes `hpf.withdrawal.events.v1`.
public struct WithdrawalService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(
        name: "withdrawal", schema: "withdrawal", defaultPort: 8084,
        migrations: WithdrawalMigrations.all, sealedColumns: SealedWithdrawalData.all)

    let runtime: ServiceRuntime
    /// Daily and on demand for staff, each one job for both.
    let rentPayments: DailyJob<RentPaymentJob.Summary>
    let unconfirmedPayouts: DailyJob<UnconfirmedPayouts.Summary>
    public let subscriptions: [EventSubscription]

    public init(runtime: ServiceRuntime) {
        self.runtime = runtime
        rentPayments = DailyJob("rent payments", runtime: runtime, didWork: { $0.monthsRequested > 0 }) {
            try await RentPaymentJob(runtime: runtime).run(asOf: $0)
        }
        unconfirmedPayouts = DailyJob("unconfirmed payouts", runtime: runtime, didWork: { $0.marked > 0 }) {
            try await UnconfirmedPayouts(runtime: runtime).run(asOf: $0)
        }
        subscriptions = [WithdrawalAccounts.subscription(runtime: runtime), LedgerOutcomes.subscription(runtime: runtime)]
    }

    public func addRoutes(to routes: Routes) {
        let withdrawals = WithdrawalHandlers(runtime: runtime)
        routes.post("/v1/withdrawals", .holder(orStaff: .fundOfficer), use: withdrawals.request)
        routes.get("/v1/withdrawals/:withdrawalId", .holderOrAnyStaff, use: withdrawals.get)
        routes.get("/v1/accounts/:accountNumber/withdrawals", .holderOrAnyStaff, use: withdrawals.list)
        let plans = RentPlans.Handlers(runtime: runtime)
        routes.post("/v1/rent-plans", .holder(orStaff: .fundOfficer), use: plans.create)
        routes.get("/v1/rent-plans/:planId", .holderOrAnyStaff, use: plans.get)
        // The payment channel that paid confirms, signed like its payment notifications.
        routes.post("/v1/payouts/:payoutId/confirmation", .channel(.payment), use: PayoutConfirmations(runtime: runtime).confirm)
        routes.post("/v1/jobs/rent-payments", .staff(.fundOfficer), use: rentPayments.onDemand)
        routes.get("/v1/payouts/unconfirmed", .staff(.fundOfficer, .auditor), use: UnconfirmedPayouts(runtime: runtime).list)
        routes.post("/v1/jobs/unconfirmed-payouts", .staff(.fundOfficer), use: unconfirmedPayouts.onDemand)
        // Reconciliation (对账): a fund officer imports the channel's signed payout statement.
        let statements = StatementImport(runtime: runtime, reconciler: PayoutStatements(runtime: runtime))
        routes.post("/v1/channel-statements", .staff(.fundOfficer), use: statements.importStatement)
        routes.get("/v1/channel-statements/:statementId", .staff(.fundOfficer, .auditor), use: statements.report)
        routes.get("/v1/statement-discrepancies", .staff(.fundOfficer, .auditor), use: statements.discrepancies)
    }

    public var jobs: [any Service] { [rentPayments, unconfirmedPayouts] }
}
