import Contracts
import Crypto
import Foundation
import Kafka
import Policy
import PostgresNIO
import ServiceRuntime
import Testing

/// The outbox relay and the inbox runner on the real Postgres and broker, in a schema of their
/// own (`runtime_test`) with a table that records every applied effect, duplicates included.
@Suite("Outbox and inbox on Postgres and the broker", .serialized)
struct OutboxInboxTests {
    static let descriptor = ServiceDescriptor(
        name: "runtime-test", schema: "runtime_test", defaultPort: 0,
        migrations: [
            Migration(1, "applied effects", "CREATE TABLE applied (event_id text NOT NULL, account text NOT NULL, amount_fen bigint NOT NULL)"),
            // The order effects were applied in (the consumer batch tests compare it with each account's).
            Migration(2, "applied order", "ALTER TABLE applied ADD COLUMN seq bigserial"),
        ])

    struct Killed: Error {}

    /// Runs `body` with the runtime's pool running, the schema migrated and the gate open.
    func withRuntime(_ body: (ServiceRuntime) async throws -> Void) async throws {
        let runtime = try ServiceRuntime(descriptor: Self.descriptor, config: TestStack.config(Self.descriptor), clock: TestStack.clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await runtime.database.client.run() }
            try await Migrator.migrate(config: runtime.config, descriptor: Self.descriptor, logger: runtime.logger)
            await runtime.gate.open()
            do {
                try await body(runtime)
            } catch {
                group.cancelAll()
                await runtime.producer.shutdown()
                throw error
            }
            group.cancelAll()
            await runtime.producer.shutdown()
        }
    }

    func event(account: String, amount: Fen) -> CloudEvent<ContributionReceived> {
        CloudEvent(
            source: "/hpf/test", type: EventType.contributionReceived.rawValue, subject: account,
            data: ContributionReceived(
                contributionId: UUID().uuidString, accountNumber: account, amountFen: amount, channel: .wechat, origin: .channel,
                paidAt: "2026-03-16T02:00:00.000Z", paidOn: TestStack.today, monthsCounted: [TestStack.today.yearMonth],
                balanceAfterFen: amount, firstContribution: false, sequence: 1))
    }

    /// The records these tests write to topics of their own carry no event signature (the event
    /// signature's own tests are in EventSignatureTests).
    func subscription(_ consumer: String, topic: String) -> EventSubscription {
        EventSubscription(
            consumerName: consumer, topicNames: [topic],
            handlers: [
                .on(.contributionReceived, ContributionReceived.self) { event, db in
                    try await db.query(
                        """
                        INSERT INTO applied (event_id, account, amount_fen) VALUES (\(event.id), \(event.data.accountNumber), \(event.data.amountFen))
                        """)
                }
            ], verifiesWriter: false)
    }

    func appliedCount(_ runtime: ServiceRuntime, eventID: String) async throws -> Int64 {
        var count: Int64 = 0
        for try await c in try await runtime.database.query("SELECT count(*) FROM applied WHERE event_id = \(eventID)").decode(Int64.self) { count = c }
        return count
    }

    func isPublished(_ runtime: ServiceRuntime, eventID: String) async throws -> Bool {
        for try await published in try await runtime.database.query(
            "SELECT published_at IS NOT NULL FROM outbox WHERE id = \(UUID(uuidString: eventID)!)"
        ).decode(Bool.self) { return published }
        return false
    }

    func relay(_ runtime: ServiceRuntime, batchSize: Int = 500) -> OutboxRelay {
        OutboxRelay(
            database: runtime.database, producer: runtime.producer, signal: runtime.outboxSignal, gate: runtime.gate,
            batchSize: batchSize, logger: runtime.logger)
    }

    @Test("two relays on one schema (two instances of a service) keep each account's events in order")
    func twoRelaysKeepOrder() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.two")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let account = TestStack.unique("acct")
            let events = (1...120).map { event(account: account, amount: Int64($0)) }
            for chunk in stride(from: 0, to: events.count, by: 10) {
                try await runtime.transaction { db in
                    for event in events[chunk..<chunk + 10] { try await Outbox.enqueue(event, topic: topic, on: db.connection, logger: db.logger) }
                }
            }
            // Small batches so that two unguarded relays would interleave.
            let relays = [relay(runtime, batchSize: 3), relay(runtime, batchSize: 3)]
            let running = relays.map { relay in Task { try await relay.run() } }
            defer { running.forEach { $0.cancel() } }
            // Forty rounds of three, each a broker round trip: on a loaded machine (the whole suite
            // runs at once) that takes more than the default 30 s, so the deadline is generous.
            let published = try await TestStack.read(topic: topic, count: events.count, seconds: 180) { _ in true }
            let amounts = published.compactMap { try? CloudEventCoding.decode(ContributionReceived.self, from: $0.value).data.amountFen }
            #expect(amounts == Array(1...120))
        }
    }

    @Test("a relay killed after publishing and before marking republishes; the inbox applies the event once")
    func relayKilledBetweenPublishAndMark() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.dup")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let account = TestStack.unique("acct")
            let first = event(account: account, amount: 100)
            try await runtime.transaction { try await Outbox.enqueue(first, topic: topic, on: $0.connection, logger: $0.logger) }
            let relay = relay(runtime)
            await #expect(throws: Killed.self) { try await relay.relayOnce(afterPublish: { throw Killed() }) }
            #expect(try await isPublished(runtime, eventID: first.id) == false)
            try await relay.relayOnce()
            #expect(try await isPublished(runtime, eventID: first.id))
            // A later event on the same key proves the consumer got past the duplicate.
            let sentinel = event(account: account, amount: 200)
            try await runtime.transaction { try await Outbox.enqueue(sentinel, topic: topic, on: $0.connection, logger: $0.logger) }
            try await relay.relayOnce()

            let copies = try await TestStack.read(topic: topic, count: 3) { _ in true }
            #expect(copies.filter { (try? CloudEventCoding.header(from: $0.value).id) == first.id }.count == 2)

            let consumer = EventConsumerService(subscription: subscription(TestStack.unique("dup"), topic: topic), runtime: runtime)
            let running = Task { try await consumer.run() }
            defer { running.cancel() }
            #expect(try await TestStack.eventually { try await appliedCount(runtime, eventID: sentinel.id) == 1 })
            #expect(try await appliedCount(runtime, eventID: first.id) == 1)
        }
    }

    @Test("headers computed from the exact published bytes (a signature, say) travel with the record")
    func headersFromBytes() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.headers")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let sent = event(account: TestStack.unique("acct"), amount: 7)
            try await runtime.transaction { db in
                try await Outbox.enqueue(sent, topic: topic, headers: { ["x-length": "\($0.count)"] }, on: db.connection, logger: db.logger)
            }
            try await relay(runtime).relayOnce()
            let records = try await TestStack.read(topic: topic, count: 1) { _ in true }
            let record = try #require(records.first)
            let length = record.headers.first { $0.name == "x-length" }.map { String(decoding: $0.value, as: UTF8.self) }
            #expect(length == "\(record.value.count)")
            #expect(record.headers.first?.name == "content-type")
        }
    }

    @Test("a relay's signer signs what it publishes at publishing time, over the exact bytes, on its topic only")
    func signedAtPublishing() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.signed")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let key = Curve25519.Signing.PrivateKey()
            let sent = event(account: TestStack.unique("acct"), amount: 9)
            try await runtime.transaction { try await Outbox.enqueue(sent, topic: topic, on: $0.connection, logger: $0.logger) }
            // The broker was away for a while: the record waits in the outbox.
            try await Task.sleep(for: .seconds(2))
            let waited = Date()
            let signing = OutboxRelay(
                database: runtime.database, producer: runtime.producer, signal: runtime.outboxSignal, gate: runtime.gate,
                batchSize: 100,
                signer: { name, value in
                    name == topic ? try PartnerSignature.fields(for: value, keyId: "k1", key: key, at: Date()) : nil
                }, logger: runtime.logger)
            try await signing.relayOnce()
            let record = try #require(try await TestStack.read(topic: topic, count: 1) { _ in true }.first)
            let signedAt = try #require(record.header(PartnerSignature.signedAtHeader).flatMap { ISO8601DateFormatter().date(from: $0) })
            #expect(signedAt >= waited.addingTimeInterval(-1), "signed when published, not when written")
            let verified = PartnerSignature.verify(value: record.value, headers: record.headers, now: Date()) { $0 == "k1" ? key.publicKey : nil }
            #expect((try? verified.get()) == "k1")
        }
    }

    @Test("an event whose sequence number is lower but commits later is still published")
    func lateCommitOfLowerSequence() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.order")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let early = event(account: TestStack.unique("acct"), amount: 1)
            let late = event(account: TestStack.unique("acct"), amount: 2)
            let inserted = StartupGate(), release = StartupGate()
            let slowTransaction = Task {
                try await runtime.database.transaction { connection in
                    try await Outbox.enqueue(early, topic: topic, on: connection, logger: runtime.logger)
                    await inserted.open()
                    await release.wait()
                }
            }
            await inserted.wait()
            try await runtime.transaction { try await Outbox.enqueue(late, topic: topic, on: $0.connection, logger: $0.logger) }
            let relay = relay(runtime)
            try await relay.relayOnce()
            #expect(try await isPublished(runtime, eventID: late.id))
            await release.open()
            try await slowTransaction.value
            var seqs: [String: Int64] = [:]
            for try await (id, seq) in try await runtime.database.query(
                "SELECT id::text, seq FROM outbox WHERE id IN (\(UUID(uuidString: early.id)!), \(UUID(uuidString: late.id)!))"
            ).decode((String, Int64).self) { seqs[id] = seq }
            #expect(seqs[late.id, default: 0] > seqs[early.id, default: .max], "the early event must hold the lower sequence number")
            try await relay.relayOnce()
            #expect(try await isPublished(runtime, eventID: early.id))
            let ids = try await TestStack.read(topic: topic, count: 2) { _ in true }.compactMap { try? CloudEventCoding.header(from: $0.value).id }
            #expect(Set(ids) == [early.id, late.id])
        }
    }

    @Test("poison events go to the dead-letter topic with their reason; later events on the partition are processed")
    func poisonEventsAreDeadLettered() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.poison")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let account = TestStack.unique("acct")
            let before = event(account: account, amount: 10), after = event(account: account, amount: 20)
            var unknown = event(account: account, amount: 30)
            unknown.type = "hpf.mystery.thing.v1"
            let invalidPayload =
                #"{"specversion":"1.0","id":"\#(UUID().uuidString)","source":"/x","type":"hpf.contribution.contribution-received.v1","subject":"\#(account)","data":{"amountFen":"lots"}}"#
            let values: [[UInt8]] = [
                try CloudEventCoding.encode(before), Array("this is not json".utf8), try CloudEventCoding.encode(unknown),
                Array(invalidPayload.utf8), try CloudEventCoding.encode(after),
            ]
            for value in values { try await runtime.producer.send(OutgoingMessage(topic: topic, key: account, value: value)) }

            let consumerName = TestStack.unique("poison")
            let consumer = EventConsumerService(subscription: subscription(consumerName, topic: topic), runtime: runtime)
            let relay = relay(runtime)
            let running = [Task { try await consumer.run() }, Task { try await relay.run() }]
            defer { running.forEach { $0.cancel() } }
            #expect(try await TestStack.eventually { try await appliedCount(runtime, eventID: after.id) == 1 })
            #expect(try await appliedCount(runtime, eventID: before.id) == 1)

            let letters = try await TestStack.deadLetters(count: 3) { $0.consumer == consumerName }
            #expect(Set(letters.map(\.reason)) == [.malformedEvent, .unknownEventType, .invalidPayload])
            #expect(letters.allSatisfy { $0.originalTopic == topic && $0.originalKey == account })
            #expect(letters.contains { $0.originalValue == "this is not json" })
        }
    }

    @Test("events whose numbers or dates are out of range go to the dead-letter topic untouched; the partition moves on")
    func outOfRangeEventsAreDeadLettered() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.range")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let account = TestStack.unique("acct")
            let huge = event(account: account, amount: .max)
            var negative = event(account: account, amount: 10)
            negative.data.balanceAfterFen = -1
            var ancient = event(account: account, amount: 10)
            ancient.data.paidAt = "1799-12-31T10:00:00.000Z"
            let beyondInt64 = String(decoding: try CloudEventCoding.encode(event(account: account, amount: 123_456)), as: UTF8.self)
                .replacingOccurrences(of: "123456", with: "92233720368547758070")
            let after = event(account: account, amount: 20)
            let values: [[UInt8]] = [
                try CloudEventCoding.encode(huge), try CloudEventCoding.encode(negative), try CloudEventCoding.encode(ancient),
                Array(beyondInt64.utf8), try CloudEventCoding.encode(after),
            ]
            for value in values { try await runtime.producer.send(OutgoingMessage(topic: topic, key: account, value: value)) }

            let consumerName = TestStack.unique("range")
            let consumer = EventConsumerService(subscription: subscription(consumerName, topic: topic), runtime: runtime)
            let relay = relay(runtime)
            let running = [Task { try await consumer.run() }, Task { try await relay.run() }]
            defer { running.forEach { $0.cancel() } }
            #expect(try await TestStack.eventually { try await appliedCount(runtime, eventID: after.id) == 1 })
            for refused in [huge, negative, ancient] { #expect(try await appliedCount(runtime, eventID: refused.id) == 0) }
            let letters = try await TestStack.deadLetters(count: 4) { $0.consumer == consumerName }
            #expect(letters.count == 4)
            #expect(letters.allSatisfy { $0.reason == .invalidPayload && $0.detail.contains("out of range") }, "\(letters.map(\.detail))")
            #expect(
                letters.contains { $0.detail.contains("data.amountFen") } && letters.contains { $0.detail.contains("data.balanceAfterFen") }
                    && letters.contains { $0.detail.contains("data.paidAt") })
        }
    }

    @Test("a subscription's verification dead-letters records before they touch anything; replays are refused where asked")
    func verificationAndReplays() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.verify")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 1)])
            let account = TestStack.unique("acct")
            let good = event(account: account, amount: 10), forged = event(account: account, amount: 20)
            let sealed = [KafkaHeader(name: "x-seal", value: "ok")]
            try await runtime.producer.send(OutgoingMessage(topic: topic, key: account, value: try CloudEventCoding.encode(good), headers: sealed))
            try await runtime.producer.send(OutgoingMessage(topic: topic, key: account, value: try CloudEventCoding.encode(forged)))
            try await runtime.producer.send(OutgoingMessage(topic: topic, key: account, value: try CloudEventCoding.encode(good), headers: sealed))

            let consumerName = TestStack.unique("verify")
            let base = subscription(consumerName, topic: topic)
            let checked = EventSubscription(
                consumerName: consumerName, topicNames: [topic], handlers: base.handlers,
                verify: { message in
                    message.headers.contains { $0.name == "x-seal" } ? nil : EventRejection(reason: .unverified, detail: "missing_signature")
                }, deadLetterDuplicates: true, verifiesWriter: false)
            let consumer = EventConsumerService(subscription: checked, runtime: runtime)
            let relay = relay(runtime)
            let running = [Task { try await consumer.run() }, Task { try await relay.run() }]
            defer { running.forEach { $0.cancel() } }
            let letters = try await TestStack.deadLetters(count: 2) { $0.consumer == consumerName }
            #expect(Set(letters.map(\.reason)) == [.unverified, .duplicateEvent])
            #expect(try await appliedCount(runtime, eventID: good.id) == 1)
            #expect(try await appliedCount(runtime, eventID: forged.id) == 0, "the refused record changed nothing")
        }
    }
}
