import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Publishes the outbox to Kafka: claims unpublished rows with FOR UPDATE SKIP LOCKED (never a
/// high-water mark on `seq`, since sequence values commit out of order), sends them with the
/// idempotent producer, waits for the delivery reports, then marks them published in the same
/// transaction. A crash between publishing and marking republishes: consumers' inboxes absorb it.
/// Only one relay per schema works at a time (an advisory lock), even with several instances of
/// the service running: two relays sharing the rows between them would reorder an account's events.
public final class OutboxRelay: Service, Sendable {
    /// Headers computed from a record's exact bytes when it is published (a signature whose time
    /// must be the sending time, not the time the row was written); nil for topics it leaves alone.
    public typealias Signer = @Sendable (_ topic: String, _ value: [UInt8]) throws -> [String: String]?

    let database: Database
    let producer: KafkaProducer
    let signal: OutboxSignal
    let gate: StartupGate
    let batchSize: Int
    let signer: Signer?
    let logger: Logger
    let published: Counter
    let failures: Counter

    public init(database: Database, producer: KafkaProducer, signal: OutboxSignal, gate: StartupGate, batchSize: Int,
                signer: Signer? = nil, logger: Logger) {
        self.database = database
        self.signer = signer
        self.producer = producer
        self.signal = signal
        self.gate = gate
        self.batchSize = batchSize
        self.logger = logger
        published = Counter(label: "hpf_outbox_published_total", dimensions: [("schema", database.schema)])
        failures = Counter(label: "hpf_outbox_publish_failures_total", dimensions: [("schema", database.schema)])
    }

    /// How often the relay looks at the table without being woken: rows written by another
    /// instance, or by a transaction that did not notify, wait at most this long.
    static let pollInterval = Duration.milliseconds(200)

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await self.gate.wait() else { return }
            // One long-lived ticker instead of a timer per wait: under load the relay is woken
            // by committing transactions, and per-wait timers cost more CPU than the relay itself.
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: Self.pollInterval)
                        self.signal.notify()
                    }
                }
                group.addTask { await self.loop() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func loop() async {
        var idleRounds = 0
        while !Task.isCancelled {
            do {
                if try await relayOnce() > 0 {
                    idleRounds = 0
                    continue
                }
            } catch is CancellationError {
                return
            } catch {
                failures.increment()
                logger.warning("outbox relay round failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
            idleRounds += 1
            if idleRounds % 3000 == 0 { await purgePublished() }
            await signal.wait()
        }
    }

    /// One round: claim, publish, mark. Returns how many events were published.
    /// `afterPublish` lets tests kill the round between publishing and marking.
    @discardableResult
    public func relayOnce(afterPublish: @Sendable () async throws -> Void = {}) async throws -> Int {
        try await database.transaction { connection in
            guard try await self.becomeTheRelay(connection) else { return 0 }
            let rows = try await connection.query("""
                SELECT id, aggregateid, topic, payload, CASE WHEN headers = '{}'::jsonb THEN NULL ELSE headers::text END FROM outbox
                WHERE published_at IS NULL ORDER BY seq LIMIT \(self.batchSize) FOR UPDATE SKIP LOCKED
                """, logger: self.logger)
            var ids: [UUID] = []
            var messages: [OutgoingMessage] = []
            for try await (id, key, topic, payload, extra) in rows.decode((UUID, String, String, String, String?).self) {
                ids.append(id)
                let value = Array(payload.utf8)
                var named: [String: String] = [:]
                if let extra, let stored = try? JSONDecoder().decode([String: String].self, from: Data(extra.utf8)) { named = stored }
                if let signed = try self.signer?(topic, value) { named.merge(signed) { $1 } }
                let headers = [KafkaHeader(name: "content-type", value: CloudEventCoding.contentType)]
                    + named.sorted { $0.key < $1.key }.map { KafkaHeader(name: $0.key, value: $0.value) }
                messages.append(OutgoingMessage(topic: topic, key: key, value: value, headers: headers))
            }
            guard !messages.isEmpty else { return 0 }
            let results = try await self.producer.send(batch: messages)
            try await afterPublish()
            var delivered: [UUID] = []
            for (id, result) in zip(ids, results) {
                switch result {
                case .success: delivered.append(id)
                case .failure(let error):
                    self.failures.increment()
                    self.logger.warning("event not delivered; will retry", metadata: ["id": "\(id)", "error": "\(error)"])
                }
            }
            if !delivered.isEmpty {
                // Rows carrying personal data for a partner (a resident ID number on the partner feed)
                // are not kept once delivered; the rest stay a week for audit and replay.
                try await connection.query("""
                    WITH gone AS (DELETE FROM outbox WHERE id = ANY(\(delivered)) AND aggregatetype = \(Outbox.personalData))
                    UPDATE outbox SET published_at = now() WHERE id = ANY(\(delivered)) AND aggregatetype <> \(Outbox.personalData)
                    """, logger: self.logger)
            }
            self.published.increment(by: delivered.count)
            return delivered.count
        }
    }

    /// True when this transaction holds the schema's relay lock (released at commit).
    private func becomeTheRelay(_ connection: PostgresConnection) async throws -> Bool {
        let key = "outbox-relay:\(database.schema)"
        for try await held in try await connection.query("SELECT pg_try_advisory_xact_lock(hashtext(\(key)))", logger: logger).decode(Bool.self) {
            return held
        }
        return false
    }

    /// Published rows are kept a week for audit and replay, then removed.
    func purgePublished() async {
        _ = try? await database.query("DELETE FROM outbox WHERE published_at < now() - interval '7 days'")
    }
}
