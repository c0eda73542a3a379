import Hummingbird

/// The routes every service has: `/health` (process alive) and `/ready` (database and broker
/// reachable and the outbox not behind, else 503) for anyone; `/metrics` (open unless HPF_METRICS_PUBLIC=false); the audit
/// trail for auditors; the channel-key registry for fund officers; dead letters and read-model rebuilds for operators.
enum RuntimeRoutes {
    static func add(to routes: Routes, runtime: ServiceRuntime) {
        routes.get("/health", .open) { _, _ in
            try HTTPJSON.response(.ok, ["status": "ok", "service": runtime.descriptor.name])
        }
        routes.get("/ready", .open) { _, _ in
            try await readiness(runtime)
        }
        routes.get("/metrics", runtime.access.metricsPublic ? .open : .staff(.auditor, .fundOfficer)) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: Observability.exposition())))
        }
        let audit = runtime.access.audit
        routes.get("/v1/audit", .staff(.auditor), use: audit.list)
        routes.get("/v1/audit/verification", .staff(.auditor), use: audit.verification)
        let channels = runtime.access.channels
        routes.get("/v1/channels", .staff(.fundOfficer, .auditor), use: channels.list)
        routes.post("/v1/channels/:channelId/keys", .staff(.fundOfficer), use: channels.register)
        routes.post("/v1/channels/:channelId/keys/:keyId/approval", .staff(.fundOfficer), use: channels.approve)
        routes.delete("/v1/channels/:channelId/keys/:keyId", .staff(.fundOfficer), use: channels.revoke)
        let deadLetters = DeadLetterRoutes(runtime: runtime)
        routes.get("/v1/dead-letters", .staff(.systemOperator, .auditor), use: deadLetters.list)
        routes.post("/v1/dead-letters/:deadLetterId/redrive", .staff(.systemOperator), use: deadLetters.redrive)
        let readModels = ReadModelRoutes(runtime: runtime)
        routes.get("/v1/read-models", .staff(.systemOperator, .auditor), use: readModels.list)
        routes.post("/v1/read-models/:readModel/rebuilds", .staff(.systemOperator), use: readModels.start)
        routes.get("/v1/read-models/:readModel/rebuilds/:rebuildId", .staff(.systemOperator, .auditor), use: readModels.get)
    }

    /// 200 when the database and the broker answer and the oldest unpublished outbox event is
    /// younger than HPF_READY_OUTBOX_LAG; else 503 saying which. A relay that cannot publish
    /// (the broker away, its session stuck) shows here and in `hpf_outbox_oldest_unpublished_seconds`.
    static func readiness(_ runtime: ServiceRuntime) async throws -> Response {
        async let brokerUp = runtime.producer.isBrokerReachable(timeoutMs: 2_000)
        // One query answers both: the database is up if it tells the outbox's age in time.
        async let outboxBacklog = try? withDeadline(seconds: 2) { try await OutboxRelay.backlog(runtime.database) }
        let (broker, backlog) = await (brokerUp, outboxBacklog)
        let age = backlog?.oldestSeconds
        let db = backlog != nil
        if let backlog { OutboxRelay.record(backlog, runtime.database) }
        let outboxBehind = (age ?? 0) > Double(runtime.config.readyOutboxLagSeconds)
        let ready = db && broker && !outboxBehind
        let body = Readiness(
            status: ready ? "ready" : "not_ready", database: db ? "up" : "down", broker: broker ? "up" : "down",
            outbox: age == nil ? "unknown" : outboxBehind ? "behind" : "current",
            outboxLagSeconds: age.map { Int64($0.rounded(.down)) })
        var response = try HTTPJSON.response(ready ? .ok : .serviceUnavailable, body)
        if !ready { response.headers[.retryAfter] = "\(Problem.retryAfterSeconds)" }
        return response
    }

    struct Readiness: Encodable {
        var status: String
        var database: String
        var broker: String
        /// `current`, `behind` (older than the threshold) or `unknown` (the database did not answer).
        var outbox: String
        var outboxLagSeconds: Int64?
    }
}
