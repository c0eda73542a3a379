import Contracts
import Hummingbird
import ServiceLifecycle
import ServiceRuntime

/// The contribution service, the account ledger (§2, §9, §20): every balance change is an
/// immutable posting. Reads the enrolment events to open ledger accounts, the subsidy events to
/// credit grants and the withdrawal events to debit, settle or reverse withdrawals; writes
/// `hpf.contribution.events.v1`.
public struct ContributionService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(
        name: "contribution", schema: "contribution", defaultPort: 8082,
        migrations: ContributionMigrations.all, appendOnlyTables: ["postings"])

    let runtime: ServiceRuntime
    /// Deposit interest for the interest years ended before the day: daily (hourly for the
    /// day's date) and on demand for staff, one job for both.
    let interestSettlement: DailyJob<InterestSettlementJob.Summary>
    public let subscriptions: [EventSubscription]
    /// Payment notifications recorded together (group commit), one set of groups per process.
    public let deposits: DepositGroups

    public init(runtime: ServiceRuntime) {
        self.runtime = runtime
        deposits = DepositGroups(runtime: runtime)
        interestSettlement = DailyJob("interest settlement", runtime: runtime, didWork: { $0.postings > 0 }) {
            try await InterestSettlementJob(runtime: runtime).run(asOf: $0)
        }
        subscriptions = [
            LedgerAccounts.subscription(runtime: runtime), LedgerAccounts.recognisedMonths(runtime: runtime),
            SubsidyCredits.subscription(runtime: runtime), LedgerDebits.subscription(runtime: runtime),
        ]
    }

    public func addRoutes(to routes: Routes) {
        // Payment notifications come only from a payment channel, signed (WeChat Pay v3 style).
        routes.post("/v1/contributions", .channel(.payment), use: ContributionHandlers(runtime: runtime, deposits: deposits).receive)
        let accounts = AccountHandlers(runtime: runtime)
        routes.get("/v1/accounts/:accountNumber/balance", .holderOrAnyStaff, use: accounts.balance)
        routes.get("/v1/accounts/:accountNumber/ledger", .holderOrAnyStaff, use: accounts.ledger)
        routes.get("/v1/accounts/:accountNumber/tax-statement", .holderOrAnyStaff, use: accounts.taxStatement)
        routes.post("/v1/imports/contributions", .staff(.fundOfficer), use: LegacyImport(runtime: runtime).importHistory)
        routes.post("/v1/jobs/interest-settlement", .staff(.fundOfficer), use: interestSettlement.onDemand)
        // Reconciliation (对账): a fund officer imports the channel's signed deposit statement.
        let statements = StatementImport(runtime: runtime, reconciler: DepositStatements(runtime: runtime))
        routes.post("/v1/channel-statements", .staff(.fundOfficer), use: statements.importStatement)
        routes.get("/v1/channel-statements/:statementId", .staff(.fundOfficer, .auditor), use: statements.report)
        routes.get("/v1/statement-discrepancies", .staff(.fundOfficer, .auditor), use: statements.discrepancies)
    }

    public var jobs: [any Service] { [interestSettlement] }
}
