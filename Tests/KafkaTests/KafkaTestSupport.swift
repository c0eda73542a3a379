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

extension KafkaTestSupport {
    /// What `work` returns, or nil when it has not within `bound`. The work is then left running:
    /// a wait that never ends fails the test instead of hanging it.
    static func value<T: Sendable>(within bound: Duration, of work: @escaping @Sendable () async -> T) async -> T? {
        let (answers, answer) = AsyncStream<T?>.makeStream()
        Task { answer.yield(await work()) }
        let timer = Task {
            try await Task.sleep(for: bound)
            answer.yield(nil)
        }
        defer { timer.cancel() }
        var first = answers.makeAsyncIterator()
        return await first.next() ?? nil
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
