import ArgumentParser
import Contracts
import Foundation
import Kafka
import Policy
import ServiceRuntime

/// `hpfctl bench-event-signing [--events N]`: what signing every published event and verifying
/// every consumed one costs, on a typical event (a contribution received), one core.
/// Prints `event-signing: sign X µs verify Y µs per event (N events)`.
struct EventSigningBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-event-signing",
        abstract: "Signing and verifying N events (Ed25519): µs per event, in this process.",
        discussion: "Prints `event-signing: sign X µs verify Y µs per event (N events of B bytes)`.")

    struct Failure: Error, CustomStringConvertible { let description: String }

    @Option(help: "Events to sign and verify.")
    var events: Int = 20_000

    func validate() throws {
        try Checks.within(1...10_000_000, events, "--events")
    }

    func run() throws {
        let count = events
        let topic = Topic.contributionEvents.name
        let event = CloudEvent(
            source: "/hpf/contribution", type: EventType.contributionReceived.rawValue, subject: "3207000000000001",
            data: ContributionReceived(
                contributionId: UUID().uuidString, accountNumber: "3207000000000001", amountFen: 50_000,
                channel: .wechat, origin: .channel, paidAt: "2026-03-16T02:00:00.000Z",
                paidOn: BusinessDate("2026-03-16")!, monthsCounted: [YearMonth(year: 2026, month: 3)],
                balanceAfterFen: 50_000, firstContribution: false, sequence: 1))
        let value = try CloudEventCoding.encode(event)
        let key = EventSignature.developmentKey(service: "contribution")
        let keyId = EventSignature.developmentKeyId(service: "contribution")
        let keyring = EventKeyring(entries: EventKeyring.development)

        var signed: [[String: String]] = []
        signed.reserveCapacity(count)
        let signStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<count { signed.append(try EventSignature.fields(topic: topic, value: value, keyId: keyId, key: key)) }
        let signNanos = DispatchTime.now().uptimeNanoseconds - signStart

        let messages = signed.map { fields in
            KafkaMessage(topic: topic, partition: 0, offset: 0, key: nil, value: value, headers: fields.map { KafkaHeader(name: $0.key, value: $0.value) })
        }
        var refused = 0
        let verifyStart = DispatchTime.now().uptimeNanoseconds
        for message in messages where keyring.rejection(of: message) != nil { refused += 1 }
        let verifyNanos = DispatchTime.now().uptimeNanoseconds - verifyStart
        guard refused == 0 else { throw Failure(description: "\(refused) of \(count) signatures did not verify") }
        print(
            String(
                format: "event-signing: sign %.1f µs verify %.1f µs per event (%d events of %d bytes)",
                Double(signNanos) / Double(count) / 1000, Double(verifyNanos) / Double(count) / 1000, count, value.count))
    }
}
