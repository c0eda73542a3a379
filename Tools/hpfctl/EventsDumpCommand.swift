import ArgumentParser
import Contracts
import Crypto
import Foundation
import Kafka
import Logging
import Policy
import ServiceRuntime

/// `hpfctl events-dump --dir DIR`: every event the suite itself published, topic by topic, one
/// CloudEvent per line in `DIR/<topic>.jsonl`, for checking real events against the AsyncAPI
/// documents (`make test` does, after the tests). Only records whose signature verifies with the
/// writer's development key are kept: tests also put forged and malformed records on the topics,
/// on purpose, and those are not the suite's events. Development stacks only.
struct EventsDumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events-dump",
        abstract: "Every event the suite published, one DIR/<topic>.jsonl per topic (development stacks).",
        discussion: "Each internal topic and each partner's outbound topic; only the records whose signature verifies "
            + "with the writer's development key (tests also put forged records on the topics, on purpose). "
            + "Reads until nothing has come for --idle-seconds, and for at least 15 s.")

    @Option(help: "The folder for the <topic>.jsonl files (created if need be).")
    var dir: String

    @Option(help: "Stop once nothing has come for this many seconds.")
    var idleSeconds: Int = 5

    func validate() throws {
        guard !dir.isEmpty else { throw ValidationError("--dir is empty") }
        try Checks.within(1...3_600, idleSeconds, "--idle-seconds")
    }

    func run() async throws {
        let dir = self.dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let idle = Double(idleSeconds)
        var logger = Logger(label: "hpfctl")
        logger.logLevel = .error
        let ours = PolicyParameters.lianyungang2025.cityCode.value
        let partners = PolicyParameters.lianyungang2025.borderPartners.value.map(\.code).filter { $0 != ours }
        // Partners write the inbound topic (tests forge there on purpose): not ours to check.
        let topics = Topic.allCases.filter { $0 != .partnerInbound }.map(\.name) + partners.map { Topic.partnerOutbound(city: $0) }
        let keyring = EventKeyring(entries: EventKeyring.development)
        let partnerKey = PartnerSignature.developmentKey(city: ours).publicKey
        // One consumer for every topic: the group join (a few seconds) happens once.
        let consumer = try KafkaConsumer(
            configuration: try Environment.consumer(
                groupID: "hpfctl.dump.\(UUID().uuidString.prefix(8))",
                clientID: "hpfctl"), topics: topics, logger: logger)
        var lines: [String: [String]] = [:]
        var skipped: [String: Int] = [:]
        // Read until nothing has come for `idle` seconds, and not before the join has had 15 s.
        let started = Date()
        var last = started
        while Date().timeIntervalSince(last) < idle || Date().timeIntervalSince(started) < 15 {
            let messages = try await consumer.poll(maxMessages: 1000, timeoutMs: 200)
            if !messages.isEmpty { last = Date() }
            for message in messages {
                let genuine =
                    Topic.partnerCity(outboundTopic: message.topic) != nil
                    ? Self.signedByUs(message, key: partnerKey) : keyring.rejection(of: message) == nil
                if genuine {
                    lines[message.topic, default: []].append(String(decoding: message.value, as: UTF8.self))
                } else {
                    skipped[message.topic, default: 0] += 1
                }
            }
        }
        await consumer.close()
        var summary: [String] = []
        for topic in topics {
            let found = lines[topic] ?? []
            let path = (dir as NSString).appendingPathComponent("\(topic).jsonl")
            try (found.joined(separator: "\n") + (found.isEmpty ? "" : "\n")).write(toFile: path, atomically: true, encoding: .utf8)
            let left = skipped[topic].map { " (\($0) not signed by the suite, left out)" } ?? ""
            summary.append("\(topic): \(found.count)\(left)")
        }
        for line in summary { print("events-dump: \(line)") }
    }

    /// Whether our development partner key signed the message (at whatever time it says: the
    /// freshness window protects partners from replays and is not what this check is about).
    static func signedByUs(_ message: KafkaMessage, key: Curve25519.Signing.PublicKey) -> Bool {
        guard
            let signedAt = message.headers.last(where: { $0.name == PartnerSignature.signedAtHeader })
                .flatMap({ PartnerSignature.instant(String(decoding: $0.value, as: UTF8.self)) })
        else { return false }
        return (try? PartnerSignature.verify(value: message.value, headers: message.headers, now: signedAt, publicKey: { _ in key }).get()) != nil
    }
}
