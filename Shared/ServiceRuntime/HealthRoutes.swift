import Hummingbird

/// The routes every service has: `/health` (process alive) and `/ready` (database and broker
/// reachable, else 503) for anyone; `/metrics` (open unless HPF_METRICS_PUBLIC=false); the audit
/// trail for auditors; the channel-key registry for fund officers.
enum RuntimeRoutes {
    static func add(to routes: Routes, runtime: ServiceRuntime) {
        routes.get("/health", .open) { _, _ in
            try HTTPJSON.response(.ok, ["status": "ok", "service": runtime.descriptor.name])
        }
        routes.get("/ready", .open) { _, _ in
            async let databaseUp = runtime.database.isReachable()
            async let brokerUp = runtime.producer.isBrokerReachable(timeoutMs: 2_000)
            let (db, broker) = await (databaseUp, brokerUp)
            let body = ["status": db && broker ? "ready" : "not_ready", "database": db ? "up" : "down", "broker": broker ? "up" : "down"]
            return try HTTPJSON.response(db && broker ? .ok : .serviceUnavailable, body)
        }
        routes.get("/metrics", runtime.access.metricsPublic ? .open : .staff(.auditor, .fundOfficer)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
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
    }
}
