import Foundation
import Kafka
import Logging

enum KafkaTestSupport {
    static let logger = Logger(label: "kafka.test")

    static func uniqueName(_ prefix: String) -> String { "\(prefix).\(UUID().uuidString.prefix(8).lowercased())" }

    /// Reads until `count` messages arrived or `seconds` passed.
    static func consume(_ consumer: KafkaConsumer, count: Int, seconds: Double = 30) async throws -> [KafkaMessage] {
        var received: [KafkaMessage] = []
        let deadline = Date().addingTimeInterval(seconds)
        while received.count < count, Date() < deadline {
            received += try await consumer.poll(maxMessages: count - received.count, timeoutMs: 200)
        }
        return received
    }
}
