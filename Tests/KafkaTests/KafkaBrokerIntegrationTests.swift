import Foundation
import Kafka
import Testing

/// Integration tests on the real dev broker that `make test` starts (HPF_KAFKA_BROKERS).
@Suite("Kafka wrapper on the dev broker")
struct KafkaBrokerIntegrationTests {
    let brokers = ProcessInfo.processInfo.environment["HPF_KAFKA_BROKERS"] ?? "127.0.0.1:9093"
    let logger = KafkaTestSupport.logger

    @Test("topics are created idempotently; keyed messages round-trip through a consumer group")
    func roundTrip() async throws {
        let topic = KafkaTestSupport.uniqueName("it.roundtrip")
        let producer = try KafkaProducer(configuration: .producer(brokers: brokers, clientID: "it-p"), logger: logger)
        try await producer.createTopics([TopicSpec(name: topic, partitions: 3)])
        try await producer.createTopics([TopicSpec(name: topic, partitions: 3)])
        #expect(await producer.isBrokerReachable())
        let messages = (0..<20).map {
            OutgoingMessage(
                topic: topic, key: "acct-\($0 % 4)", value: Array("v\($0)".utf8),
                headers: [KafkaHeader(name: "h", value: "\($0)")])
        }
        let reports = try await producer.send(batch: messages).map { try $0.get() }
        #expect(reports.count == 20)
        // One key, one partition: per-account order.
        let partitionsOfKey0 = Set(zip(messages, reports).filter { $0.0.key == Array("acct-0".utf8) }.map(\.1.partition))
        #expect(partitionsOfKey0.count == 1)

        let consumer = try KafkaConsumer(
            configuration: .consumer(brokers: brokers, groupID: KafkaTestSupport.uniqueName("g"), clientID: "it-c"),
            topics: [topic], logger: logger)
        let received = try await KafkaTestSupport.consume(consumer, count: 20, seconds: 45)
        #expect(Set(received.map { String(decoding: $0.value, as: UTF8.self) }) == Set((0..<20).map { "v\($0)" }))
        let key0 = received.filter { $0.keyString == "acct-0" }.map { String(decoding: $0.value, as: UTF8.self) }
        #expect(key0 == ["v0", "v4", "v8", "v12", "v16"])
        await consumer.close()
        await producer.shutdown()
    }

    @Test("a new member of the group resumes after the committed offset")
    func resumeFromCommittedOffset() async throws {
        let topic = KafkaTestSupport.uniqueName("it.resume")
        let producer = try KafkaProducer(configuration: .producer(brokers: brokers, clientID: "it-p2"), logger: logger)
        try await producer.createTopics([TopicSpec(name: topic, partitions: 1)])
        _ = try await producer.send(batch: (0..<10).map { OutgoingMessage(topic: topic, key: "k", value: Array("v\($0)".utf8)) })
        let group = KafkaTestSupport.uniqueName("g")
        let config = KafkaConfiguration.consumer(brokers: brokers, groupID: group, clientID: "it-c1")
        let first = try KafkaConsumer(configuration: config, topics: [topic], logger: logger)
        var seen: [KafkaMessage] = []
        for try await message in first.messages {
            seen.append(message)
            if seen.count == 6 { break }
        }
        // Processed the first six, but only the first five "committed to the database".
        try first.storeOffset(seen[4])
        try await first.commitStored()
        await first.close()

        let second = try KafkaConsumer(configuration: config.with("client.id", "it-c2"), topics: [topic], logger: logger)
        let rest = try await KafkaTestSupport.consume(second, count: 5, seconds: 45)
        #expect(rest.map { String(decoding: $0.value, as: UTF8.self) } == ["v5", "v6", "v7", "v8", "v9"])
        await second.close()
        await producer.shutdown()
    }
}
