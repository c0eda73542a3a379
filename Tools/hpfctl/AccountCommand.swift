import ArgumentParser
import Contracts
import Foundation

/// `hpfctl account <account-number>`: the whole story of one account. Reads every topic of the
/// catalogue from the beginning to its end (outside any group), keeps the records keyed by the
/// account number once each (delivery is at least once: by CloudEvents id) and prints them in
/// order of their CloudEvents time, then topic and offset.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "The whole story of one account: its events on every topic, merged by time.",
        discussion:
            "Reads every topic of the catalogue but the payout instructions (payees' bank accounts are for the channel alone) from the beginning and keeps the records keyed by the account "
            + "number, once each (by CloudEvents id), in order of their time. One line per event: time, type, "
            + "topic[partition]@offset and the data; --json prints the lines of `events --json`. "
            + "Exits 1 when no event was found.")

    @Argument(help: "The account number (its events' key).")
    var accountNumber: String

    @Option(help: "Longest wait to read every topic to the end it had when the read began.")
    var seconds: Int = 60

    @Flag(help: "One JSON object per line, as `events --json` prints them.")
    var json = false

    func validate() throws {
        guard !accountNumber.isEmpty, !accountNumber.contains(where: \.isWhitespace) else {
            throw ValidationError("the account number is empty or has spaces: '\(accountNumber)'")
        }
        try Checks.within(1...3_600, seconds, "--seconds")
    }

    func run() async throws {
        // Not the payout-instruction topics: they carry payees' bank accounts for the payment
        // channel and the bank alone, and an account's story has its payouts on the withdrawal
        // and regional topics already.
        let topics = Topic.allCases.filter { ![.payoutInstructions, .transferPayoutInstructions].contains($0) }.map(\.name)
        var records: [EventRecord] = []
        var seen: Set<String> = []
        let complete = try await EventReader.read(topics: topics, purpose: "account", timeout: .seconds(seconds)) { message in
            guard message.keyString == accountNumber else { return }
            let record = EventRecord(message)
            // A record that is not a CloudEvent has no id: its position stands for it.
            if seen.insert(record.id ?? "position:" + record.position).inserted { records.append(record) }
        }
        if !complete {
            Environment.warn("account: the topics were not read to their ends within \(seconds) s; the story may be partial (try a longer --seconds)")
        }
        guard !records.isEmpty else {
            throw CommandError("no event keyed \(accountNumber) on the \(topics.count) topics of the catalogue")
        }
        records.sort(by: EventRecord.chronologically)
        if json {
            for record in records { print(record.jsonLine) }
            return
        }
        let typeWidth = records.map { ($0.type ?? Self.notAnEvent).count }.max() ?? 0
        let positionWidth = records.map(\.position.count).max() ?? 0
        for record in records {
            let time = Table.pad(record.time ?? "-", 24)
            let type = Table.pad(record.type ?? Self.notAnEvent, typeWidth)
            let position = Table.pad(record.position, positionWidth)
            print("\(time)  \(type)  \(position)  \(record.type == nil ? record.valueText : record.dataJSON)")
        }
        let topicsSeen = Set(records.map(\.message.topic)).count
        print("(\(records.count) event\(records.count == 1 ? "" : "s") of account \(accountNumber) on \(topicsSeen) topic\(topicsSeen == 1 ? "" : "s"))")
    }

    static let notAnEvent = "(not a CloudEvent)"
}
