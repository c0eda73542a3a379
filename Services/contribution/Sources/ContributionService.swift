import Contracts
import Hummingbird
import ServiceRuntime

/// The contribution service, the account ledger (§2, §9, §20): every balance change is an
/// immutable posting. Reads the enrolment events to open ledger accounts, the subsidy events to
/// credit grants and the withdrawal events to debit, settle or reverse withdrawals; writes
/// `hpf.contribution.events.v1`.
public enum ContributionService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "contribution", schema: "contribution", defaultPort: 8082,
                                                     migrations: ContributionMigrations.all)

    public static func addRoutes(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {
        let contributions = ContributionHandlers(runtime: runtime)
        router.post("/v1/contributions", use: contributions.receive)
        let accounts = AccountHandlers(runtime: runtime)
        router.get("/v1/accounts/:accountNumber/balance", use: accounts.balance)
        router.get("/v1/accounts/:accountNumber/ledger", use: accounts.ledger)
        router.get("/v1/accounts/:accountNumber/tax-statement", use: accounts.taxStatement)
        router.group("/v1/imports/contributions")
            .add(middleware: runtime.staffOnly)
            .post(use: LegacyImport(runtime: runtime).importHistory)
    }

    public static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription] {
        [LedgerAccounts.subscription(runtime: runtime), SubsidyCredits.subscription(runtime: runtime),
         LedgerDebits.subscription(runtime: runtime)]
    }
}
