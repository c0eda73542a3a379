import ArgumentParser
import Contracts
import Foundation
import Policy

/// Prints the events on a topic from the beginning, one record each: partition/offset, type,
/// subject and data, or one JSON line (`--json`); for `--seconds`, or until interrupted (`--follow`).
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the events on a topic, from the beginning.",
        discussion: "Topics: the catalogue's (" + Topic.allCases.map(\.name).joined(separator: ", ")
            + ") and each partner city's outbound topic, " + Topic.partnerOutbound(city: "<city code>") + ".")

    @Argument(help: "The topic, e.g. \(Topic.contributionEvents.name).")
    var topic: String

    @Option(help: "Only the records with this key (the account number, on the account topics).")
    var key: String?

    @Option(help: "Seconds to read once the consumer group has joined (the join takes about 4 s more).")
    var seconds: Int = 3

    @Flag(help: "Keep reading until interrupted (Ctrl-C) instead of stopping after --seconds.")
    var follow = false

    @Flag(help: "One JSON object per line: {\"topic\",\"partition\",\"offset\",\"key\",\"event\"} (\"value\", the text, for a record that is not a CloudEvent).")
    var json = false

    func validate() throws {
        guard Self.isKnown(topic) else {
            throw ValidationError("unknown topic \(topic); the topics are:\n  " + Self.knownTopics.joined(separator: "\n  "))
        }
        try Checks.within(1...86_400, seconds, "--seconds")
    }

    /// The catalogue, and the partner cities' outbound topics (`hpf.regional.partner-outbound.<6-digit city code>.v1`).
    static func isKnown(_ topic: String) -> Bool {
        if Topic(rawValue: topic) != nil { return true }
        guard let city = Topic.partnerCity(outboundTopic: topic) else { return false }
        return city.count == 6 && city.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    static var knownTopics: [String] {
        let ours = PolicyParameters.lianyungang2025.cityCode.value
        let partners = PolicyParameters.lianyungang2025.borderPartners.value.map(\.code).filter { $0 != ours }
        return Topic.allCases.map(\.name) + partners.map { Topic.partnerOutbound(city: $0) }
            + [Topic.partnerOutbound(city: "<city code>") + " (any partner city's)"]
    }

    func run() async throws {
        let consumer = try EventReader.consumer(topics: [topic], purpose: "events")
        let deadline = Date().addingTimeInterval(Double(seconds) + 4) // the group join takes a few seconds
        var printed = 0
        while follow || Date() < deadline {
            var batch = 0
            for message in try await consumer.poll(maxMessages: 500, timeoutMs: 200) where key == nil || message.keyString == key {
                let record = EventRecord(message)
                print(json ? record.jsonLine : record.text)
                batch += 1
            }
            if batch > 0 {
                printed += batch
                fflush(nil) // a pipe reader (jq, a test) sees each batch as it comes
            }
        }
        await consumer.close()
        if printed == 0 {
            let note = "(no events\(key.map { " for key \($0)" } ?? "") on \(topic))"
            // JSON lines stay JSON: the note goes to standard error.
            if json { Environment.warn(note) } else { print(note) }
        }
    }
}
