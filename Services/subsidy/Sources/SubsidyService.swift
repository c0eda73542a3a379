import Contracts
import Hummingbird
import ServiceLifecycle
import ServiceRuntime

/// The subsidy service (§3, §11, §12): opening and annual HPF subsidies under the lifetime cap,
/// credited through the ledger by events; the social-insurance subsidy paid to a bank account;
/// entrepreneurship eligibility. Builds its own view of participants and contribution lots from
/// the event stream. Writes `hpf.subsidy.events.v1`.
public struct SubsidyService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(
        name: "subsidy", schema: "subsidy", defaultPort: 8083,
        migrations: SubsidyMigrations.all, accountOwners: "participants")

    let runtime: ServiceRuntime
    /// Daily (hourly for the day's date) and on demand for staff: one job for both.
    let annualSubsidy: DailyJob<AnnualSubsidyJob.Summary>
    public let subscriptions: [EventSubscription]

    public init(runtime: ServiceRuntime) {
        self.runtime = runtime
        annualSubsidy = DailyJob("annual subsidy", runtime: runtime, didWork: { $0.lots > 0 }) {
            try await AnnualSubsidyJob(runtime: runtime).run(asOf: $0)
        }
        subscriptions = [ParticipantProfiles.subscription(runtime: runtime), ContributionLots.subscription(runtime: runtime)]
    }

    public func addRoutes(to routes: Routes) {
        let queries = SubsidyQueries(runtime: runtime)
        routes.get("/v1/accounts/:accountNumber/subsidies", .holderOrAnyStaff, use: queries.subsidies)
        routes.get("/v1/subsidy-budget", .anyStaff, use: queries.budget)
        routes.post("/v1/jobs/annual-subsidy", .staff(.fundOfficer), use: annualSubsidy.onDemand)
        // §12 payments are reported by the social-insurance system, signed like a channel.
        routes.post("/v1/social-insurance/payments", .channel(.socialInsurance), use: SocialInsuranceSubsidy(runtime: runtime).decide)
    }

    public var jobs: [any Service] { [annualSubsidy] }
}
