import ArgumentParser
import Contracts
import Kafka
import Logging

/// Creates every topic of the catalogue; topics that exist are left as they are.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create every topic of the catalogue (idempotent).",
        discussion: "HPF_TOPIC_PARTITIONS partitions each [3]; topics that exist are left as they are.")

    func run() async throws {
        let logger = Logger(label: "hpfctl")
        let producer = try KafkaProducer(configuration: try Environment.producer(), logger: logger)
        let partitions = Int32(Environment.variables["HPF_TOPIC_PARTITIONS"] ?? "3") ?? 3
        try await producer.createTopics(Topic.allCases.map { TopicSpec(name: $0.name, partitions: partitions) })
        await producer.shutdown()
        print("topics ready: \(Topic.allCases.map(\.name).joined(separator: ", "))")
    }
}
