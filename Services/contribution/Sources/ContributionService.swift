import Contracts
import Hummingbird
import ServiceRuntime

/// The contribution service, the account ledger (§2, §9, §20): every balance change is an
/// immutable posting. Reads the enrolment events to open ledger accounts, the subsidy events to
/// credit grants and the withdrawal events to debit, settle or reverse withdrawals; writes
/// `hpf.contribution.events.v1`.
public enum ContributionService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(name: "contribution", schema: "contribution", defaultPort: 8082,
                                                     migrations: ContributionMigrations.all, appendOnlyTables: ["postings"])

    public static func addRoutes(to routes: Routes, runtime: ServiceRuntime) {
        // Payment notifications come only from a payment channel, signed (WeChat Pay v3 style).
        routes.post("/v1/contributions", .channel(.payment), use: ContributionHandlers(runtime: runtime).receive)
        let accounts = AccountHandlers(runtime: runtime)
        routes.get("/v1/accounts/:accountNumber/balance", .holderOrAnyStaff, use: accounts.balance)
        routes.get("/v1/accounts/:accountNumber/ledger", .holderOrAnyStaff, use: accounts.ledger)
        routes.get("/v1/accounts/:accountNumber/tax-statement", .holderOrAnyStaff, use: accounts.taxStatement)
        routes.post("/v1/imports/contributions", .staff(.fundOfficer), use: LegacyImport(runtime: runtime).importHistory)
    }

    public static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription] {
        [LedgerAccounts.subscription(runtime: runtime), SubsidyCredits.subscription(runtime: runtime),
         LedgerDebits.subscription(runtime: runtime)]
    }
}
