import Foundation
import Kafka
import Testing

/// Wrapper unit tests on librdkafka's mock cluster.
@Suite("Kafka wrapper on the mock cluster")
struct KafkaMockClusterTests {
    let logger = KafkaTestSupport.logger

    @Test("a send is awaited until its delivery report")
    func sendAwaitsDelivery() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t.single", partitions: 1)
        let producer = try KafkaProducer(configuration: .producer(brokers: cluster.bootstrapServers, clientID: "p"), logger: logger)
        let first = try await producer.send(OutgoingMessage(topic: "t.single", key: "a", value: Array("one".utf8)))
        let second = try await producer.send(OutgoingMessage(topic: "t.single", key: "a", value: Array("two".utf8)))
        #expect(first.topic == "t.single" && first.partition == 0)
        #expect(second.offset == first.offset + 1)
        await producer.shutdown()
    }

    @Test("a batch reports every message, in order, per key")
    func batch() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t.batch", partitions: 3)
        let producer = try KafkaProducer(configuration: .producer(brokers: cluster.bootstrapServers, clientID: "p"), logger: logger)
        let messages = (0..<1000).map { OutgoingMessage(topic: "t.batch", key: "k\($0 % 7)", value: Array("m\($0)".utf8)) }
        let reports = try await producer.send(batch: messages).map { try $0.get() }
        #expect(reports.count == 1000)
        var lastOffsetPerPartition: [Int32: Int64] = [:]
        for report in reports {
            if let last = lastOffsetPerPartition[report.partition] { #expect(report.offset > last) }
            lastOffsetPerPartition[report.partition] = report.offset
        }
        await producer.shutdown()
    }

    @Test("consumed messages keep key, value and headers; stored offsets are resumed from")
    func consumeAndResume() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t.consume", partitions: 1)
        let producer = try KafkaProducer(configuration: .producer(brokers: cluster.bootstrapServers, clientID: "p"), logger: logger)
        for index in 0..<10 {
            try await producer.send(
                OutgoingMessage(
                    topic: "t.consume", key: "acct-\(index)", value: Array("v\(index)".utf8),
                    headers: [KafkaHeader(name: "content-type", value: "application/json")]))
        }
        let config = KafkaConfiguration.consumer(brokers: cluster.bootstrapServers, groupID: "g1", clientID: "c1")
        let consumer = try KafkaConsumer(configuration: config, topics: ["t.consume"], logger: logger)
        let firstFour = try await KafkaTestSupport.consume(consumer, count: 4)
        #expect(firstFour.map { String(decoding: $0.value, as: UTF8.self) } == ["v0", "v1", "v2", "v3"])
        #expect(firstFour[0].keyString == "acct-0")
        #expect(firstFour[0].header("content-type") == "application/json")
        try consumer.storeOffset(firstFour[3])
        try await consumer.commitStored()
        await consumer.close()

        let again = try KafkaConsumer(configuration: config.with("client.id", "c2"), topics: ["t.consume"], logger: logger)
        let rest = try await KafkaTestSupport.consume(again, count: 6)
        #expect(rest.map { String(decoding: $0.value, as: UTF8.self) } == (4..<10).map { "v\($0)" })
        await again.close()
        await producer.shutdown()
    }

    @Test("an undeliverable message fails its send with a delivery error")
    func deliveryFailure() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t.down", partitions: 1)
        cluster.setBrokerDown(1, true)
        let config = KafkaConfiguration.producer(brokers: cluster.bootstrapServers, clientID: "p").with("message.timeout.ms", "1500")
        let producer = try KafkaProducer(configuration: config, logger: logger)
        await #expect {
            try await producer.send(OutgoingMessage(topic: "t.down", key: "a", value: [1]))
        } throws: { error in
            (error as? KafkaError)?.kind == .delivery
        }
        await producer.shutdown()
    }

    @Test("bad configuration is a typed error; a closed producer refuses sends")
    func typedErrors() async throws {
        #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: KafkaConfiguration(["no.such.property": "1"]), logger: logger)
        }
        let cluster = try KafkaMockCluster()
        let producer = try KafkaProducer(configuration: .producer(brokers: cluster.bootstrapServers, clientID: "p"), logger: logger)
        await producer.shutdown()
        await #expect {
            try await producer.send(OutgoingMessage(topic: "t", key: nil, value: [1]))
        } throws: { error in
            (error as? KafkaError)?.kind == .closed
        }
    }
}
