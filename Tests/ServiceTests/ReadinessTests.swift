import Enrolment
import Foundation
import HummingbirdTesting
import Kafka
import ServiceRuntime
import Testing

/// `/ready` answers from real probes: the database and the broker.
@Suite("Readiness")
struct ReadinessTests {
    @Test("a running service is ready; /health and /metrics answer")
    func ready() async throws {
        let app = try EnrolmentService.buildApplication(config: TestStack.config(EnrolmentService.descriptor), clock: TestStack.clock)
        try await app.test(.live) { client in
            let api = JSONClient(client: client)
            let ready = try await api.get("/ready")
            #expect(ready.status == 200 && ready.string("database") == "up" && ready.string("broker") == "up")
            #expect(try await api.get("/health").status == 200)
            let metrics = try await api.get("/metrics")
            #expect(metrics.status == 200 && metrics.text.contains("hpf_outbox_published_total"))
        }
    }

    @Test("the probes report an unreachable database and broker as down")
    func probesSeeOutages() async throws {
        var config = TestStack.config(EnrolmentService.descriptor)
        config.pgPort = 1  // nothing listens there
        let database = try Database(config: config, logger: TestStack.logger)
        let reachable = await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                await database.client.run(); return nil
            }
            let result = await database.isReachable()
            group.cancelAll()
            return result
        }
        #expect(!reachable)
        let producer = try KafkaProducer(configuration: .producer(brokers: "127.0.0.1:1", clientID: "probe"), logger: TestStack.logger)
        #expect(!(await producer.isBrokerReachable(timeoutMs: 1_000)))
        await producer.shutdown()
    }
}
