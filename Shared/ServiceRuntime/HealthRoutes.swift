import Hummingbird

/// `/health` (process alive), `/ready` (database and broker reachable, else 503), `/metrics`.
enum HealthRoutes {
    static func add(to router: Router<BasicRequestContext>, runtime: ServiceRuntime) {
        router.get("/health") { _, _ in
            try HTTPJSON.response(.ok, ["status": "ok", "service": runtime.descriptor.name])
        }
        router.get("/ready") { _, _ in
            async let databaseUp = runtime.database.isReachable()
            async let brokerUp = runtime.producer.isBrokerReachable(timeoutMs: 2_000)
            let (db, broker) = await (databaseUp, brokerUp)
            let body = ["status": db && broker ? "ready" : "not_ready", "database": db ? "up" : "down", "broker": broker ? "up" : "down"]
            return try HTTPJSON.response(db && broker ? .ok : .serviceUnavailable, body)
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: Observability.exposition())))
        }
    }
}
