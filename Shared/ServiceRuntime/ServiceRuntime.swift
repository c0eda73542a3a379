import Contracts
import Crypto
import Foundation
import Kafka
import Logging
import Policy
import PostgresNIO

/// What every service's logic gets: its configuration, database, producer, outbox signal,
/// clock and the policy parameters. One per process.
public struct ServiceRuntime: Sendable {
    public let descriptor: ServiceDescriptor
    public let config: ServiceConfig
    public let logger: Logger
    public let database: Database
    public let producer: KafkaProducer
    public let outboxSignal: OutboxSignal
    public let gate: StartupGate
    public let clock: BusinessClock
    public let parameters: PolicyParameters
    /// Identity, channel signatures, rate limits and the audit trail.
    public let access: AccessControl
    /// The event keys this service accepts on the topics it reads.
    public let eventKeys: EventKeyring
    /// Signs every record the relay publishes with this service's event key.
    public let eventSigner: OutboxRelay.Signer
    /// Seals and opens personal data at rest.
    public let personalData: PersonalDataCipher
    /// The process's event consumers, for the operator's redrive of a dead letter.
    public let consumers = ConsumerDirectory()
    /// The service's read models, for the operator's rebuild.
    public let readModels = ReadModelDirectory()

    public init(
        descriptor: ServiceDescriptor, config: ServiceConfig, clock: BusinessClock? = nil,
        parameters: PolicyParameters = .lianyungang2025
    ) throws {
        if let problem = config.problems.first { throw problem }
        var logger = Logger(label: "hpf.\(descriptor.name)")
        logger.logLevel = Logger.Level(rawValue: config.logLevel) ?? .info
        self.descriptor = descriptor
        self.config = config
        self.logger = logger
        database = try Database(config: config, logger: logger)
        producer = try KafkaProducer(
            configuration: config.transport.apply(
                to: .producer(brokers: config.kafkaBrokers, clientID: "hpf-\(descriptor.name)").with("linger.ms", "\(config.kafkaLingerMs)")),
            logger: logger)
        outboxSignal = OutboxSignal()
        gate = StartupGate()
        self.clock = clock ?? BusinessClock(fixedDate: config.fixedBusinessDate)
        self.parameters = parameters
        access = try AccessControl(config: config, database: database, logger: logger)
        var accepted = try config.eventKeys.map(EventKeyring.parse) ?? [:]
        if config.isDevelopment { accepted.merge(EventKeyring.development) { configured, _ in configured } }
        eventKeys = EventKeyring(entries: accepted)
        let signingKey =
            try Data(base64Encoded: config.eventSigningKey).flatMap { config.eventSigningKey.isEmpty ? nil : $0 }
            .map { try Curve25519.Signing.PrivateKey(rawRepresentation: $0) } ?? EventSignature.developmentKey(service: descriptor.name)
        let keyId = config.eventKeyId
        eventSigner = { topic, value in try EventSignature.fields(topic: topic, value: value, keyId: keyId, key: signingKey) }
        personalData = try PersonalDataCipher.configured(config)
    }

    /// Runs `body` in a transaction and wakes the outbox relay after it commits. `logger` names
    /// what the work serves (a route passes `context.logger`, which carries the request's id).
    public func transaction<T: Sendable>(logger: Logger? = nil, _ body: (DatabaseContext) async throws -> T) async throws -> T {
        let result = try await database.transaction { connection in try await body(context(on: connection, logger: logger)) }
        outboxSignal.notify()
        return result
    }

    /// Runs reads on one pooled connection, without a transaction (each statement commits alone).
    public func reading<T: Sendable>(logger: Logger? = nil, _ body: (DatabaseContext) async throws -> T) async throws -> T {
        try await database.withConnection { connection in try await body(context(on: connection, logger: logger)) }
    }

    /// The context of work on `connection` (a transaction its caller opened: a consumer's inbox
    /// transaction, a job's chunk), its business day read now.
    public func context(on connection: PostgresConnection, logger: Logger? = nil, beforeCommit: BeforeCommit? = nil) -> DatabaseContext {
        DatabaseContext(connection: connection, logger: logger ?? self.logger, today: clock.today, runtime: self, beforeCommit: beforeCommit)
    }

    /// A bulk job's shape (the annual subsidy, the interest settlement): `workers` tasks take
    /// batches from `next` until it is empty and run `chunk` on each (again after a transient
    /// failure: a chunk is one transaction), each on its own connection; the summaries merge.
    public func inChunks<Batch: Sendable, Summary: Sendable>(
        workers: Int, empty: Summary, next: @escaping @Sendable () async throws -> Batch?,
        chunk: @escaping @Sendable (Batch) async throws -> Summary,
        merge: @escaping @Sendable (inout Summary, Summary) -> Void
    ) async throws -> Summary {
        try await withThrowingTaskGroup(of: Summary.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var mine = empty
                    while let batch = try await next() { merge(&mine, try await retryingTransient { try await chunk(batch) }) }
                    return mine
                }
            }
            return try await group.reduce(into: empty) { total, part in merge(&total, part) }
        }
    }

    /// Runs a job's chunk again when it failed for a transient reason (a deadlock with a
    /// concurrent posting, a dropped connection): the chunk rolled back whole, so it is simply
    /// repeated, a few times with a growing pause.
    public func retryingTransient<T: Sendable>(attempts: Int = 5, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch  where DatabaseErrors.isTransient(error) && attempt < attempts {
                attempt += 1
                try await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }

    /// A transaction for a write that is idempotent on a natural key (a channel's transaction id,
    /// a request id, a lease): two deliveries of the same key that race both pass their lookup,
    /// and the loser's insert hits the unique index. The loser runs again, sees the winner's row
    /// and answers as a replay (or a conflict), instead of failing.
    public func idempotentTransaction<T: Sendable>(logger: Logger? = nil, _ body: (DatabaseContext) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await transaction(logger: logger, body)
            } catch  where attempt < 3 && DatabaseErrors.sqlState(error) == "23505" {
                continue
            }
        }
    }

    /// Every topic of the catalogue and `extra`, created if missing (the dev broker does not auto-create).
    public func ensureTopics(extra: [String] = []) async throws {
        let transport = config.transport
        try await producer.createTopics(
            (Topic.allCases.map(\.name) + extra).map {
                TopicSpec(name: $0, partitions: config.topicPartitions, replicationFactor: transport.topicReplicationFactor, configs: transport.topicConfigs)
            })
    }
}
