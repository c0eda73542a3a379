import Contracts
import Kafka
import Logging

/// Creates every topic of the catalogue; topics that exist are left as they are.
enum TopicsCommand {
    static func run() async throws {
        let logger = Logger(label: "hpfctl")
        let producer = try KafkaProducer(configuration: .producer(brokers: CommandOptions.brokers, clientID: "hpfctl"), logger: logger)
        let partitions = Int32(CommandOptions.environment["HPF_TOPIC_PARTITIONS"] ?? "3") ?? 3
        try await producer.createTopics(Topic.allCases.map { TopicSpec(name: $0.name, partitions: partitions) })
        await producer.shutdown()
        print("topics ready: \(Topic.allCases.map(\.name).joined(separator: ", "))")
    }
}
