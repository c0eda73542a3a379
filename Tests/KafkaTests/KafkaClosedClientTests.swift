import Foundation
import Testing

@testable import Kafka

/// A client's handle is destroyed when it stops, while other tasks may still call it: a readiness
/// probe during shutdown, a consumer loop abandoned by a bounded stop. Those calls must be refused,
/// never run on freed memory.
@Suite("Kafka clients used while and after they stop")
struct KafkaClosedClientTests {
    let logger = KafkaTestSupport.logger

    @Test("a producer refuses probes, sends and queue reads during and after its stop")
    func producerRefusesAfterStop() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t.stop", partitions: 1)
        let producer = try KafkaProducer(configuration: .producer(brokers: cluster.bootstrapServers, clientID: "p"), logger: logger)
        try await producer.send(OutgoingMessage(topic: "t.stop", key: "a", value: [1]))
        let callers = Task {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        // Calls until the producer refuses them: each kind races the stop.
                        while !Task.isCancelled {
                            switch index % 3 {
                            case 0: if !(await producer.isBrokerReachable(timeoutMs: 200)) { return }
                            case 1: _ = producer.inFlight
                            default:
                                do { try await producer.send(OutgoingMessage(topic: "t.stop", key: "a", value: [2])) } catch { return }
                            }
                            try? await Task.sleep(for: .milliseconds(1))
                        }
                    }
                }
            }
        }
        await producer.shutdown()
        callers.cancel()
        await callers.value
        #expect(await producer.isBrokerReachable() == false)
        #expect(producer.inFlight == 0)
        #expect(await producer.flush(timeoutMs: 100) == false)
        await #expect(throws: KafkaError.clientClosed) {
            try await producer.send(OutgoingMessage(topic: "t.stop", key: "a", value: [3]))
        }
        await #expect(throws: KafkaError.clientClosed) { try await producer.createTopics([TopicSpec(name: "t.late")]) }
        await producer.shutdown()
    }

    @Test("a send still waiting for the broker when its producer stops is answered with a failure")
    func waitingSendIsAnswered() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t.wait", partitions: 1)
        cluster.setBrokerDown(1, true)
        // The message would wait a minute for the broker; the stop's flush gives up first.
        let config = KafkaConfiguration.producer(brokers: cluster.bootstrapServers, clientID: "p").with("message.timeout.ms", "60000")
        let producer = try KafkaProducer(configuration: config, logger: logger)
        // The first half of a send: the message is in the producer's queue before the stop begins.
        let future = try await producer.enqueue(OutgoingMessage(topic: "t.wait", key: "a", value: [1]))
        await producer.shutdown(flushTimeoutMs: 500)
        // Before the purge this send waited for ever: the handle went with its message.
        let answer = await KafkaTestSupport.value(within: .seconds(60)) { await future.result }
        #expect(answer?.failure?.isPurgedAtStop == true)
    }

    @Test("a consumer refuses offsets, positions and polls during and after its close")
    func consumerRefusesAfterClose() async throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t.close", partitions: 1)
        let producer = try KafkaProducer(configuration: .producer(brokers: cluster.bootstrapServers, clientID: "p"), logger: logger)
        try await producer.send(OutgoingMessage(topic: "t.close", key: "a", value: [1]))
        let consumer = try KafkaConsumer(
            configuration: .consumer(brokers: cluster.bootstrapServers, groupID: "g", clientID: "c"), topics: ["t.close"], logger: logger)
        let message = try #require(try await KafkaTestSupport.consume(consumer, count: 1).first)
        let partition = TopicPartition(topic: message.topic, partition: message.partition)
        let callers = Task {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        while !Task.isCancelled {
                            switch index % 4 {
                            case 0: try? consumer.storeOffset(message)
                            case 1: _ = consumer.cachedEndOffset(topic: message.topic, partition: message.partition)
                            case 2:
                                consumer.pause([partition])
                                consumer.resume([partition])
                            default: if !(await consumer.isBrokerReachable(timeoutMs: 200)) { return }
                            }
                            try? await Task.sleep(for: .milliseconds(1))
                        }
                    }
                }
            }
        }
        #expect(await consumer.close(within: 60))
        callers.cancel()
        await callers.value
        try consumer.storeOffset(message)
        #expect(consumer.cachedEndOffset(topic: message.topic, partition: message.partition) == nil)
        #expect(try await consumer.poll(maxMessages: 1, timeoutMs: 10).isEmpty)
        #expect(await consumer.isBrokerReachable() == false)
        await #expect(throws: KafkaError.clientClosed) { try await consumer.commitStored() }
        await #expect(throws: KafkaError.clientClosed) { try await consumer.watermarks(of: ["t.close"]) }
        await #expect(throws: KafkaError.clientClosed) { try await consumer.committedOffsets([partition]) }
        #expect(throws: KafkaError.clientClosed) { try consumer.readFromStart([partition]) }
        await producer.shutdown()
    }
}
