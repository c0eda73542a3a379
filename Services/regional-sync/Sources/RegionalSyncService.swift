import Contracts
import Hummingbird
import Policy
import ServiceLifecycle
import ServiceRuntime

/// The regional-sync service (§17): the border-region partner registry (exchange switches and
/// signing keys), transfers in and out with partner cities over the signed partner feed, and the
/// partner months recognised here. Reads the enrolment, ledger, withdrawal and loan events and
/// the partner-inbound topic; writes `hpf.regional.events.v1` and each partner city's own outbound topic.
public struct RegionalSyncService: HPFServiceModule {
    public static let descriptor = ServiceDescriptor(
        name: "regional-sync", schema: "regional", defaultPort: 8086,
        migrations: RegionalMigrations.all, signsPartnerFeed: true)

    let runtime: ServiceRuntime
    /// One partner feed (keys, partner list, signer) for the routes, the consumers, the job and
    /// the relay's signer.
    let feed: PartnerFeed
    let registry: PartnerRegistry
    let transfersIn: TransfersIn
    let transfersOut: TransfersOut
    let resolution: TransferResolution
    /// Transfers a partner left unanswered for `transferAnswerDays` end (daily, and on demand for staff).
    let unansweredJob: DailyJob<TransferResolution.Expired>
    public let subscriptions: [EventSubscription]

    public init(runtime: ServiceRuntime) {
        self.runtime = runtime
        let feed = PartnerFeed(runtime: runtime)
        self.feed = feed
        registry = PartnerRegistry(runtime: runtime, ownKeys: feed.ownKeys)
        transfersIn = TransfersIn(runtime: runtime, feed: feed, registry: registry)
        transfersOut = TransfersOut(runtime: runtime, feed: feed, registry: registry)
        let resolution = TransferResolution(runtime: runtime, feed: feed)
        self.resolution = resolution
        unansweredJob = DailyJob("unanswered transfers", runtime: runtime, didWork: { $0.cancelled + $0.failed > 0 }) {
            try await resolution.expire(asOf: $0)
        }
        subscriptions =
            RegionalReadModels.subscriptions(runtime: runtime, transfersIn: transfersIn, transfersOut: transfersOut)
            + [feed.subscription(transfersIn: transfersIn, transfersOut: transfersOut)]
    }

    public func addRoutes(to routes: Routes) {
        // The partner list (switches and public keys) reveals no person: any signed-in caller may read it.
        routes.get("/v1/partners", .anyCaller, use: registry.list)
        routes.put("/v1/partners/:partnerCode", .staff(.fundOfficer), use: registry.configure)
        routes.post("/v1/partners/:partnerCode/keys", .staff(.fundOfficer), use: registry.registerKey)
        routes.delete("/v1/partners/:partnerCode/keys/:keyId", .staff(.fundOfficer), use: registry.revokeKey)
        routes.post("/v1/transfers/in", .holder(orStaff: .fundOfficer), use: transfersIn.start)
        // The money between the centres' banks: the receiving bank's settlement notice, our bank's payout confirmation.
        routes.post(
            "/v1/transfers/settlements", .channel(.bankFeed),
            use: TransferSettlements(runtime: runtime, feed: feed, registry: registry).notice)
        routes.post("/v1/transfer-payouts/:payoutId/confirmation", .channel(.bankFeed), use: TransferPayouts(runtime: runtime, feed: feed).confirm)
        routes.post("/v1/transfers/:transferId/cancel", .holder(orStaff: .fundOfficer), use: resolution.cancelRequest)
        routes.post("/v1/transfers/:transferId/failure", .staff(.fundOfficer), use: resolution.fail)
        routes.post("/v1/jobs/transfer-timeouts", .staff(.fundOfficer), use: unansweredOnDemand)
        let queries = TransferQueries(runtime: runtime)
        routes.get("/v1/transfers/:transferId", .holderOrAnyStaff, use: queries.get)
        routes.get("/v1/accounts/:accountNumber/transfers", .holderOrAnyStaff, use: queries.forAccount)
        routes.get("/v1/accounts/:accountNumber/recognised-months", .holderOrAnyStaff, use: RecognisedMonths.list(runtime: runtime))
    }

    /// The staff run: `{asOf, partnerCity?}`, `asOf` not in the future; with `partnerCity`, only
    /// that partner's transfers end (an operator chasing one city leaves the others' alone).
    @Sendable func unansweredOnDemand(_ request: Request, context: HPFRequestContext) async throws -> Response {
        struct Body: Decodable { var asOf: BusinessDate; var partnerCity: String? }
        let body = try await HTTPJSON.decode(Body.self, from: request)
        try runtime.refuseFuture(asOf: body.asOf)
        if let city = body.partnerCity, !feed.isPartner(city) {
            throw Problem.rule("unknown_partner", "\(city.prefix(16)) is not a border-region partner city")
        }
        return try HTTPJSON.response(.ok, try await resolution.expire(asOf: body.asOf, partnerCity: body.partnerCity))
    }

    public var jobs: [any Service] { [unansweredJob] }

    public var recordSigner: OutboxRelay.Signer? { feed.signer }

    public var extraTopics: [String] { feed.outboundTopics }
}
