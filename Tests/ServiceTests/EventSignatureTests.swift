import Contracts
import Contribution
import Crypto
import Enrolment
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Policy
import ServiceRuntime
import Testing

/// Events are authenticated: a record written straight to a topic by someone other than the
/// topic's writer credits nothing and is dead-lettered with the reason, whatever it claims.
@Suite("Event signatures: only a topic's writer is believed")
struct EventSignatureTests {
    func grant(_ account: String, amountFen: Fen) throws -> (id: String, value: [UInt8]) {
        let event = CloudEvent(
            source: "/hpf/subsidy", type: EventType.subsidyGranted.rawValue, subject: account,
            data: SubsidyGranted(
                grantId: UUID().uuidString.lowercased(), accountNumber: account, kind: .opening, amountFen: amountFen, grantedOn: TestStack.today,
                reason: "forged", lots: 1, remainingCapFen: 0))
        return (event.id, try CloudEventCoding.encode(event))
    }

    @Test(
        "a subsidy-granted record unsigned, signed by another service, by an unknown key or tampered is dead-lettered and credits nothing; the subsidy service's signature is believed"
    )
    func forgedSubsidyGrants() async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self)]) { stack in
            let enrol = stack.enrolment, ledger = stack.ledger
            let person = TestStack.newResidentID(birth: "1991-11-11", male: true)
            let account = try #require(try await enrol.post("/v1/enrolments", Bodies.enrolment(idNumber: person)).string("accountNumber"))
            #expect(try await TestStack.eventually { try await ledger.get("/v1/accounts/\(account)/balance").status == 200 })
            let before = try await ledger.get("/v1/accounts/\(account)/balance").int("balanceFen") ?? -1

            let topic = Topic.subsidyEvents.name
            let producer = try KafkaProducer(configuration: .producer(brokers: TestStack.brokers, clientID: "forger"), logger: TestStack.logger)
            defer { Task { await producer.shutdown() } }
            func send(_ value: [UInt8], _ fields: [String: String]) async throws {
                let headers = fields.sorted { $0.key < $1.key }.map { KafkaHeader(name: $0.key, value: $0.value) }
                _ = try await producer.send(OutgoingMessage(topic: topic, key: account, value: value, headers: headers))
            }
            let unsigned = try grant(account, amountFen: 88_888_800)
            try await send(unsigned.value, [:])
            let otherService = try grant(account, amountFen: 88_888_800)
            try await send(
                otherService.value,
                try EventSignature.fields(
                    topic: topic, value: otherService.value, keyId: EventSignature.developmentKeyId(service: "enrolment"),
                    key: EventSignature.developmentKey(service: "enrolment")))
            let unknown = try grant(account, amountFen: 88_888_800)
            try await send(
                unknown.value, try EventSignature.fields(topic: topic, value: unknown.value, keyId: "stranger-1", key: Curve25519.Signing.PrivateKey()))
            let tampered = try grant(account, amountFen: 100)
            var fields = try EventSignature.fields(
                topic: topic, value: tampered.value, keyId: EventSignature.developmentKeyId(service: "subsidy"),
                key: EventSignature.developmentKey(service: "subsidy"))
            let inflated = Array(
                String(decoding: tampered.value, as: UTF8.self).replacingOccurrences(of: "\"amountFen\":100", with: "\"amountFen\":88888800").utf8)
            try await send(inflated, fields)
            // Signed for another topic and moved here.
            let moved = try grant(account, amountFen: 88_888_800)
            fields = try EventSignature.fields(
                topic: Topic.loanEvents.name, value: moved.value, keyId: EventSignature.developmentKeyId(service: "subsidy"),
                key: EventSignature.developmentKey(service: "subsidy"))
            try await send(moved.value, fields)
            // The writer's own signature: believed.
            let genuine = try grant(account, amountFen: 123)
            try await send(
                genuine.value,
                try EventSignature.fields(
                    topic: topic, value: genuine.value, keyId: EventSignature.developmentKeyId(service: "subsidy"),
                    key: EventSignature.developmentKey(service: "subsidy")))

            #expect(
                try await TestStack.eventually { try await ledger.get("/v1/accounts/\(account)/balance").int("balanceFen") == before + 123 },
                "only the genuine grant is credited")
            let letters = try await TestStack.deadLetters(count: 5) { $0.originalKey == account }
            #expect(letters.count == 5 && letters.allSatisfy { $0.reason == .unverified && $0.originalTopic == topic }, "\(letters.map(\.detail))")
            let reasons = Set(letters.map { String($0.detail.prefix { $0 != ":" }) })
            #expect(reasons == ["missing_signature", "not_topic_writer", "unknown_key", "bad_signature"], "\(reasons)")
            #expect(try await ledger.get("/v1/accounts/\(account)/balance").int("balanceFen") == before + 123)
        }
    }

    @Test("what a service's relay publishes carries its event signature, which its readers verify")
    func relayedEventsAreSigned() async throws {
        let config = TestStack.config(ContributionService.descriptor)
        let runtime = try ServiceRuntime(descriptor: ContributionService.descriptor, config: config)
        let value = Array(#"{"specversion":"1.0"}"#.utf8)
        let fields = try #require(try runtime.eventSigner(Topic.contributionEvents.name, value))
        let message = KafkaMessage(
            topic: Topic.contributionEvents.name, partition: 0, offset: 0, key: nil, value: value,
            headers: fields.map { KafkaHeader(name: $0.key, value: $0.value) })
        #expect(runtime.eventKeys.rejection(of: message) == nil)
        let elsewhere = KafkaMessage(topic: Topic.subsidyEvents.name, partition: 0, offset: 0, key: nil, value: value, headers: message.headers)
        #expect(runtime.eventKeys.rejection(of: elsewhere)?.detail.hasPrefix("not_topic_writer") == true)
    }
}
