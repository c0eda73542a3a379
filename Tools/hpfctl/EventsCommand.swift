import Contracts
import Foundation
import Kafka
import Logging

/// Prints the events on a topic, one line each: partition/offset, type, subject and data.
enum EventsCommand {
    static func run(_ options: CommandOptions) async throws {
        guard let topic = options.positional.first else { throw CommandError("events needs a topic, e.g. \(Topic.enrolmentEvents.name)") }
        let key = options.named["key"]
        let seconds = Double(options.int("seconds", 3))
        var logger = Logger(label: "hpfctl")
        logger.logLevel = .error
        let group = "hpfctl.events.\(UUID().uuidString.prefix(8))"
        let consumer = try KafkaConsumer(configuration: .consumer(brokers: CommandOptions.brokers, groupID: group, clientID: "hpfctl"),
                                         topics: [topic], logger: logger)
        let deadline = Date().addingTimeInterval(seconds + 4) // the group join takes a few seconds
        var printed = 0
        while Date() < deadline {
            for message in try await consumer.poll(maxMessages: 500, timeoutMs: 200) where key == nil || message.keyString == key {
                print(describe(message))
                printed += 1
            }
        }
        await consumer.close()
        if printed == 0 { print("(no events\(key.map { " for key \($0)" } ?? "") on \(topic))") }
    }

    static func describe(_ message: KafkaMessage) -> String {
        let position = "\(message.topic)[\(message.partition)]@\(message.offset)"
        guard let object = try? JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any],
              let type = object["type"] as? String else {
            return "\(position) (not a CloudEvent) \(String(decoding: message.value, as: UTF8.self))"
        }
        let data = object["data"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]) }
        return "\(position) \(type) subject=\(object["subject"] as? String ?? "-")\n    \(data.map { String(decoding: $0, as: UTF8.self) } ?? "")"
    }
}
