import Contracts
import Contribution
import Enrolment
import Foundation
import HummingbirdTesting
import Kafka
import PostgresNIO
import ServiceRuntime
import Testing

/// Outages of Postgres and of the broker, on a stack of their own (`FaultStack`) so the rest of
/// the suite runs on undisturbed: the relay, the consumers and the HTTP edge ride them out
/// without hanging, exiting or losing an event. HPF_OUTAGE_SECONDS sets how long Postgres stays
/// down (75 s by default: longer than the connection pool's 60 s circuit breaker) and
/// HPF_BROKER_OUTAGE_SECONDS how long the broker stays frozen (8 s; minutes for the slow variant).
@Suite("Outages of the database and the broker", .serialized)
struct OutageTests {
    static let outageSeconds = Double(TestStack.environment["HPF_OUTAGE_SECONDS"] ?? "") ?? 75
    /// How long the broker stays frozen after the relay's session is ended (HPF_BROKER_OUTAGE_SECONDS).
    static let brokerOutageSeconds = Double(TestStack.environment["HPF_BROKER_OUTAGE_SECONDS"] ?? "") ?? 8
    let tables = OutboxInboxTests()

    /// The outbox/inbox test runtime (`runtime_test`) on the fault stack, pool running and gate open.
    func withRuntime(_ body: (ServiceRuntime) async throws -> Void) async throws {
        try await FaultStack.up()
        let runtime = try ServiceRuntime(
            descriptor: OutboxInboxTests.descriptor, config: FaultStack.config(OutboxInboxTests.descriptor),
            clock: TestStack.clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await runtime.database.client.run() }
            defer { group.cancelAll() }
            try await Migrator.migrate(config: runtime.config, descriptor: OutboxInboxTests.descriptor, logger: runtime.logger)
            await runtime.gate.open()
            do {
                try await body(runtime)
            } catch {
                await runtime.producer.shutdown()
                throw error
            }
            await runtime.producer.shutdown()
        }
    }

    func enqueue(_ runtime: ServiceRuntime, topic: String, account: String, amounts: ClosedRange<Int64>) async throws -> [String] {
        let events = amounts.map { tables.event(account: account, amount: $0) }
        try await runtime.transaction { db in
            for event in events { try await Outbox.enqueue(event, topic: topic, on: db.connection, logger: db.logger) }
        }
        return events.map(\.id)
    }

    func count(_ runtime: ServiceRuntime, _ query: PostgresQuery) async throws -> Int64 {
        for try await value in try await runtime.database.query(query).decode(Int64.self) { return value }
        return 0
    }

    @Test("a relay whose database session is ended while the broker is paused publishes everything once the broker is back")
    func relaySessionEndedWhileBrokerPaused() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("fault.relay")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let relay = OutboxRelay(
                database: runtime.database, producer: runtime.producer, signal: runtime.outboxSignal, gate: runtime.gate,
                batchSize: 500, logger: runtime.logger)
            let running = Task { try await relay.run() }
            defer { running.cancel() }
            let account = TestStack.unique("acct")
            var ids = try await enqueue(runtime, topic: topic, account: account, amounts: 1...5)
            #expect(try await TestStack.read(topic: topic, count: 5, seconds: 90, brokers: FaultStack.brokers) { _ in true }.count == 5)

            try await FaultStack.pauseBroker()
            var resumed = false
            defer { if !resumed { Task { try? await FaultStack.resumeBroker() } } }
            ids += try await enqueue(runtime, topic: topic, account: account, amounts: 6...15)
            // The relay has read the new rows and waits on the broker: its session is ended under it.
            #expect(
                try await TestStack.eventually {
                    try await count(runtime, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = \(relay.sessionName)") > 0
                })
            // The broker stays away a while longer (the outage itself, not a wait for a condition).
            try await Task.sleep(for: .seconds(Self.brokerOutageSeconds))
            try await FaultStack.resumeBroker()
            resumed = true
            let back = Date()

            #expect(
                try await TestStack.eventually(seconds: 120) {
                    try await count(runtime, "SELECT count(*) FROM outbox WHERE topic = \(topic) AND published_at IS NULL") == 0
                }, "every row is marked published once the broker is back")
            print(
                "outage: broker paused \(Int(Self.brokerOutageSeconds)) s with the relay's session ended; every row published \(String(format: "%.1f", Date().timeIntervalSince(back))) s after it resumed"
            )
            let published = try await TestStack.read(topic: topic, count: ids.count, seconds: 90, brokers: FaultStack.brokers) { _ in true }
            let seen = Set(published.compactMap { try? CloudEventCoding.header(from: $0.value).id })
            #expect(seen == Set(ids), "every event reached the topic (duplicates allowed, absorbed by inboxes)")
        }
    }

    @Test("Postgres down longer than the pool's circuit breaker: writes get 503 quickly, nothing exits, every event is applied once afterwards")
    func postgresDownLongerThanTheBreaker() async throws {
        try await FaultStack.up()
        try await withRuntime { runtime in
            // A consumer of a topic of its own, fed by this test while Postgres is down.
            let topic = TestStack.unique("fault.events")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 3)])
            let consumerName = TestStack.unique("fault")
            let consumer = EventConsumerService(subscription: tables.subscription(consumerName, topic: topic), runtime: runtime)
            let ended = Flag()
            let consuming = Task {
                try? await consumer.run()
                ended.set()
            }
            defer { consuming.cancel() }

            try await TestStack.withServices([
                .init(EnrolmentService.self, config: FaultStack.config(EnrolmentService.descriptor)),
                .init(ContributionService.self, config: FaultStack.config(ContributionService.descriptor)),
            ]) { stack in
                let enrol = stack.enrolment, ledger = stack.ledger
                let person = TestStack.newResidentID(birth: "1990-05-05", male: true)
                let account = try #require(try await enrol.post("/v1/enrolments", Bodies.enrolment(idNumber: person)).string("accountNumber"))
                #expect(try await TestStack.eventually { try await ledger.get("/v1/accounts/\(account)/balance").status == 200 })
                let before = try await ledger.post(
                    "/v1/contributions", Bodies.contribution(account: account, amountFen: 20_000, txn: TestStack.unique("before")))
                #expect(before.status == 201, "\(before.text)")
                #expect(try await ledger.get("/ready").status == 200)

                try await FaultStack.stopPostgres()
                var restarted = false
                defer { if !restarted { Task { try? await FaultStack.startPostgres() } } }
                let down = Date()

                // Events arrive while Postgres is away.
                let producer = try KafkaProducer(configuration: .producer(brokers: FaultStack.brokers, clientID: "fault-test"), logger: TestStack.logger)
                let events = (1...12).map { tables.event(account: TestStack.unique("acct"), amount: Int64($0)) }
                for event in events {
                    _ = try await producer.send(OutgoingMessage(topic: topic, key: event.subject, value: try CloudEventCoding.encode(event), headers: []))
                }
                await producer.shutdown()

                // Writes all through the outage: 503 with Retry-After, answered well within
                // the client's own timeout, never a 500 and never silence.
                var refused: [String] = []
                var slowest = 0.0
                while Date().timeIntervalSince(down) < Self.outageSeconds {
                    let txn = TestStack.unique("during")
                    let started = Date()
                    let reply = try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: 20_000, txn: txn))
                    slowest = max(slowest, Date().timeIntervalSince(started))
                    #expect(reply.status == 503 && reply.string("code") == "dependency_unavailable", "\(reply.status) \(reply.text)")
                    #expect(reply.headers["retry-after"] == "5")
                    refused.append(txn)
                    let ready = try await ledger.get("/ready")
                    #expect(ready.status == 503 && ready.string("database") == "down")
                    try await Task.sleep(for: .seconds(5))
                }
                #expect(slowest < 20, "a write during the outage waited \(slowest) s for its 503")
                #expect(try await enrol.get("/health").status == 200, "enrolment still serves")

                try await FaultStack.startPostgres()
                restarted = true
                let back = Date()

                // Back: ready again, writes accepted, nothing the 503s refused was written.
                #expect(try await TestStack.eventually(seconds: 120) { try await ledger.get("/ready").status == 200 })
                let readyAfter = Date().timeIntervalSince(back)
                var after = before
                #expect(
                    try await TestStack.eventually(seconds: 60) {
                        after = try await ledger.post(
                            "/v1/contributions", Bodies.contribution(account: account, amountFen: 20_000, txn: TestStack.unique("after")))
                        return after.status == 201
                    }, "\(after.status) \(after.text)")
                let entries = (try await ledger.get("/v1/accounts/\(account)/ledger?limit=500")["entries"] as? [[String: Any]]) ?? []
                #expect(entries.filter { $0["kind"] as? String == "contribution" }.count == 2, "only the deposits before and after the outage")
                #expect(!refused.isEmpty)

                // Every event that came during the outage applied exactly once, none dead-lettered.
                #expect(
                    try await TestStack.eventually(seconds: 120) {
                        // The test's own pool may still be refusing (its circuit breaker) for a moment.
                        (try? await count(runtime, "SELECT count(DISTINCT event_id) FROM applied WHERE event_id = ANY(\(events.map(\.id)))"))
                            == Int64(events.count)
                    })
                print(
                    "outage: Postgres down \(Int(Self.outageSeconds)) s; ready \(String(format: "%.1f", readyAfter)) s after its restart, "
                        + "every waiting event applied \(String(format: "%.1f", Date().timeIntervalSince(back))) s after; slowest 503 \(String(format: "%.1f", slowest)) s"
                )
                #expect(try await count(runtime, "SELECT count(*) FROM applied WHERE event_id = ANY(\(events.map(\.id)))") == Int64(events.count))
                #expect(
                    try await count(
                        runtime,
                        """
                        SELECT count(*) FROM processed_events WHERE consumer = \(consumerName) AND outcome LIKE 'dead_lettered%'
                        """) == 0)
                #expect(!ended.isSet, "the consumer still runs")
                // Ready again by itself (its relay's next round may still be ahead: waited for, not assumed).
                #expect(try await TestStack.eventually(seconds: 120) { try await enrol.get("/ready").status == 200 }, "enrolment came back by itself")
            }
        }
    }
}
