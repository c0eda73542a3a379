import ArgumentParser
import Contracts
import Foundation
import Policy

/// Prints the events on a topic from the beginning, one record each: partition/offset, type,
/// subject and data, or one JSON line (`--json`); to the topic's end as it was when the read
/// began (waiting at most `--seconds`), or on until interrupted (`--follow`).
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

    @Option(help: "Longest wait to read the topic to the end it had when the read began (exit 1 if it could not).")
    var seconds: Int = 30

    @Flag(help: "Keep reading past the end until interrupted (Ctrl-C).")
    var follow = false

    @Flag(
        help: "One JSON object per line: {\"topic\",\"partition\",\"offset\",\"key\",\"event\"} (\"value\", the text, for a record that is not a CloudEvent).")
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
        var printed = 0
        let complete = try await EventReader.read(topics: [topic], purpose: "events", follow: follow, timeout: .seconds(seconds)) { message in
            guard key == nil || message.keyString == key else { return }
            let record = EventRecord(message)
            print(json ? record.jsonLine : record.text)
            printed += 1
        }
        if !complete { Environment.warn("events: \(topic) was not read to its end within \(seconds) s (a slow broker: try a longer --seconds)") }
        if printed == 0 {
            let note = "(no events\(key.map { " for key \($0)" } ?? "") on \(topic))"
            // JSON lines stay JSON: the note goes to standard error.
            if json { Environment.warn(note) } else { print(note) }
        }
        if !complete { throw ExitCode.failure }
    }
}
