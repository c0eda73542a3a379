import Contracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle
import Synchronization

/// Publishes the outbox to Kafka in rounds: read the oldest unpublished rows (never a
/// high-water mark on `seq`, since sequence values commit out of order), send them with the
/// idempotent producer and wait for the delivery reports, then mark them published. No database
/// transaction is open across the broker round trip: each statement commits on its own. A crash
/// or a lost session between publishing and marking republishes; consumers' inboxes absorb it.
///
/// Only one relay per schema works at a time, even with several instances of the service: two
/// relays sharing the rows would reorder an account's events. The relay works on a database
/// session of its own (not the pool) and holds a session advisory lock for the length of a
/// round; if the session dies, Postgres releases the lock with it. Every round has a deadline;
/// a round that fails or overruns closes the session, and the next round opens a new one.
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
    /// The relay's own database session, opened on demand.
    private let session = Mutex<PostgresConnection?>(nil)
    private let lastMeasured = Mutex<ContinuousClock.Instant?>(nil)

    /// The `application_name` of the relay's session in `pg_stat_activity`.
    public var sessionName: String { "hpf-outbox-relay:\(database.schema)" }

    public init(
        database: Database, producer: KafkaProducer, signal: OutboxSignal, gate: StartupGate, batchSize: Int,
        signer: Signer? = nil, logger: Logger
    ) {
        self.database = database
        self.signer = signer
        self.producer = producer
        self.signal = signal
        self.gate = gate
        self.batchSize = batchSize
        self.logger = logger
        published = HPFMetrics.outboxPublished(schema: database.schema)
        failures = HPFMetrics.outboxPublishFailures(schema: database.schema)
    }

    deinit {
        // A session still open is closed (a connection must not be dropped open).
        if let open = session.withLock({ $0 }) { Task.detached { try? await open.close() } }
    }

    /// The outbox's backlog and the age of its oldest unpublished row, as metrics (also set by `/ready`).
    static func record(_ backlog: Backlog, _ database: Database) {
        HPFMetrics.outboxOldestUnpublished(schema: database.schema).set(backlog.oldestSeconds)
        HPFMetrics.outboxBacklog(schema: database.schema).set(Double(backlog.records))
    }

    /// A round ends within this; its batch stays queued in the producer (`message.timeout.ms`,
    /// five minutes) and the next round waits for that backlog before sending more.
    static let roundDeadline: Double = 45
    static let backlogWaitMs: Int32 = 20_000

    /// The producer still holds an earlier round's records: the broker has not taken them yet.
    struct BrokerBacklog: Error, CustomStringConvertible {
        let queued: Int
        var description: String { "the broker has not taken \(queued) records of an earlier round yet" }
    }

    /// How often the relay looks at the table without being woken (rows written by another
    /// instance whose relay was busy, or by a transaction that did not notify): every 200 ms after
    /// work, doubling while nothing comes, up to 2 s. Its own service's commits wake it at once,
    /// so an idle service costs one cheap query every 2 s instead of three every 200 ms.
    static let pollIntervalMs = 200
    static let idlePollIntervalMs = 2_000
    /// The current wait of the ticker, in milliseconds (shortened whenever a round found work).
    private let tick = Atomic<Int>(pollIntervalMs)
    /// Whether the last round found rows waiting (published or not: another instance may have
    /// held the lock): the poll stays quick while there is work anywhere in the schema.
    private let sawWork = Atomic<Bool>(false)

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await self.gate.wait() else { return }
            // One long-lived ticker instead of a timer per wait: under load the relay is woken
            // by committing transactions, and per-wait timers cost more CPU than the relay itself.
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(self.tick.load(ordering: .relaxed)))
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
        var failedRounds = 0
        // After a round that filled its batch, the next one claims at once: the probe would only
        // say yes. After a smaller one the relay waits for the next commit (or the ticker) instead:
        // a round right after it would find nothing, at a cost of three statements per event at a
        // trickle (measured on the loan benchmark: 7.3 statements per event before, 4 after).
        var busy = false
        var lastPurge = ContinuousClock.now
        while !Task.isCancelled {
            do {
                let count = try await relayRound(probing: !busy)
                busy = count >= batchSize
                failedRounds = 0
                await measureLag()
                if count > 0 {
                    tick.store(Self.pollIntervalMs, ordering: .relaxed)
                    await purgeIfDue(&lastPurge)
                    if !busy { await signal.wait() }
                    continue
                }
                // Rows waiting while another instance holds the lock: look again soon, not later and later.
                let slower = sawWork.load(ordering: .relaxed) ? Self.pollIntervalMs : min(tick.load(ordering: .relaxed) * 2, Self.idlePollIntervalMs)
                tick.store(slower, ordering: .relaxed)
            } catch is CancellationError {
                break
            } catch {
                failures.increment()
                failedRounds += 1
                busy = false
                // One line when trouble starts and one a minute while it lasts.
                if failedRounds == 1 || failedRounds % 120 == 0 {
                    logger.warning(
                        "outbox relay round failed; retrying", metadata: ["error": "\(String(reflecting: error))", "failedRounds": "\(failedRounds)"])
                }
                await measureLag()
                try? await Task.sleep(for: .milliseconds(500))
            }
            await purgeIfDue(&lastPurge)
            await signal.wait()
        }
        if let open = session.withLock({ $0 }) { await endSession(open) }
    }

    /// One round: read, publish, mark. Returns how many events were published; 0 when another
    /// relay holds the schema's lock. `afterPublish` lets tests kill the round between publishing
    /// and marking.
    @discardableResult
    public func relayOnce(afterPublish: @escaping @Sendable () async throws -> Void = {}) async throws -> Int {
        try await relayRound(probing: true, afterPublish: afterPublish)
    }

    /// A round; without `probing` (right after a round that published) it takes the lock without
    /// first asking whether anything waits.
    private func relayRound(probing: Bool, afterPublish: @escaping @Sendable () async throws -> Void = {}) async throws -> Int {
        let connection = try await currentSession()
        do {
            return try await withDeadline(seconds: Self.roundDeadline) {
                try await self.round(on: connection, probing: probing, afterPublish: afterPublish)
            }
        } catch {
            // Whatever went wrong (the session lost, the broker too slow, a bug), the session goes
            // with it, its lock released first if it still answers; the next round starts on a new one.
            await endSession(connection)
            throw error
        }
    }

    private func round(on connection: PostgresConnection, probing: Bool, afterPublish: @Sendable () async throws -> Void) async throws -> Int {
        if probing {
            // One statement: an index probe, and the lock only if something waits (the idle case
            // takes no lock and gives none back). The rows are read by the next statement, whose
            // snapshot is taken with the lock held: it sees every mark of the relay that held it before.
            let held = try await lockIfWaiting(connection)
            sawWork.store(held != nil, ordering: .relaxed)
            guard held == true else { return 0 }
        } else {
            sawWork.store(true, ordering: .relaxed)
            guard try await lock(connection) else { return 0 }
        }
        let rows = try await connection.query(
            """
            SELECT id, aggregateid, topic, payload, CASE WHEN headers = '{}'::jsonb THEN NULL ELSE headers::text END FROM outbox
            WHERE published_at IS NULL ORDER BY seq LIMIT \(batchSize)
            """, logger: logger)
        var ids: [UUID] = []
        var messages: [OutgoingMessage] = []
        for try await (id, key, topic, payload, extra) in rows.decode((UUID, String, String, String, String?).self) {
            ids.append(id)
            let value = Array(payload.utf8)
            var named: [String: String] = [:]
            if let extra, let stored = try? JSONDecoder().decode([String: String].self, from: Data(extra.utf8)) { named = stored }
            if let signed = try signer?(topic, value) { named.merge(signed) { $1 } }
            let headers =
                [KafkaHeader(name: "content-type", value: CloudEventCoding.contentType)]
                + named.sorted { $0.key < $1.key }.map { KafkaHeader(name: $0.key, value: $0.value) }
            messages.append(OutgoingMessage(topic: topic, key: key, value: value, headers: headers))
        }
        guard !messages.isEmpty else {
            try await unlock(connection)
            return 0
        }
        // A round abandoned at its deadline leaves its batch queued in the producer: it is
        // delivered when the broker is back, and sent again by a later round. Wait for it here
        // rather than queue another copy of the same rows every round while the broker is away.
        if producer.inFlight > 0, !(await producer.flush(timeoutMs: Self.backlogWaitMs)) {
            throw BrokerBacklog(queued: producer.inFlight)
        }
        let results = try await producer.send(batch: messages)
        try await afterPublish()
        var delivered: [UUID] = []
        var purged = 0
        for (id, result) in zip(ids, results) {
            switch result {
            case .success: delivered.append(id)
            case .failure(let error) where error.isPurgedAtStop: purged += 1
            case .failure(let error):
                failures.increment()
                logger.warning("event not delivered; will retry", metadata: ["id": "\(id)", "error": "\(error)"])
            }
        }
        // The process is stopping: one line, not one per row (they stay unpublished for the next relay).
        if purged > 0 { logger.info("events left to the next relay: the producer stopped before sending them", metadata: ["count": "\(purged)"]) }
        if !delivered.isEmpty {
            // Rows carrying personal data for a partner (a resident ID number on the partner feed)
            // are not kept once delivered; the rest stay a week for audit and replay.
            try await connection.query(
                """
                WITH gone AS (DELETE FROM outbox WHERE id = ANY(\(delivered)) AND aggregatetype = \(Outbox.personalData))
                UPDATE outbox SET published_at = now() WHERE id = ANY(\(delivered)) AND aggregatetype <> \(Outbox.personalData)
                """, logger: logger)
        }
        try await unlock(connection)
        published.increment(by: Int64(delivered.count))
        return delivered.count
    }

    private var lockKey: String { "outbox-relay:\(database.schema)" }

    /// nil when no row waits; otherwise whether this session now holds the schema's relay lock
    /// (false: another relay holds it). `CASE` evaluates the lock only when the probe says yes.
    private func lockIfWaiting(_ connection: PostgresConnection) async throws -> Bool? {
        for try await held in try await connection.query(
            """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL) THEN pg_try_advisory_lock(hashtext(\(lockKey))) END
            """, logger: logger
        ).decode(Bool?.self) {
            return held
        }
        return nil
    }

    /// True when this session now holds the schema's relay lock.
    private func lock(_ connection: PostgresConnection) async throws -> Bool {
        for try await held in try await connection.query("SELECT pg_try_advisory_lock(hashtext(\(lockKey)))", logger: logger).decode(Bool.self) {
            return held
        }
        return false
    }

    private func unlock(_ connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_unlock(hashtext(\(lockKey)))", logger: logger)
    }

    /// The relay reads the oldest unpublished rows through the partial index on `seq` in its order,
    /// never by a bitmap scan. Each published row leaves a dead entry in that index until vacuum;
    /// a plain index scan marks the entries it finds dead so that later rounds skip them and the
    /// index sheds them, while a bitmap scan (which the planner prefers once it expects a few hundred
    /// rows) visits every one of them again in every round: on the loan benchmark that read cost
    /// 0.4 ms after 15 s and 1.5 ms after 20 s, the most expensive statement of a decision. So its
    /// session is told `SET enable_bitmapscan = off` once, when it opens.
    private func currentSession() async throws -> PostgresConnection {
        if let open = session.withLock({ $0 }), !open.isClosed { return open }
        // Under a deadline, as every wait of the relay: a stopping service must not hang on a
        // database that went away mid-connect (a test run once waited 24 minutes here or below).
        let opened = try await withDeadline(seconds: Self.roundDeadline) { [database, sessionName, logger] in
            let session = try await database.openSession(named: sessionName)
            // A statement, not a start-up parameter: a pooler in front (pgbouncer) may refuse those.
            do {
                try await session.query("SET enable_bitmapscan = off", logger: logger)
            } catch {
                try? await session.close()
                throw error
            }
            return session
        }
        session.withLock { $0 = opened }
        return opened
    }

    /// Releases the lock (if the session still answers) and closes the session, each within two
    /// seconds, so that the next round, here or in another instance, can take over at once.
    private func endSession(_ connection: PostgresConnection) async {
        session.withLock { current in
            if current === connection { current = nil }
        }
        _ = try? await withDeadline(seconds: 2) { try await self.unlock(connection) }
        _ = try? await withDeadline(seconds: 2) { try await connection.close() }
    }

    /// Records the age of the oldest unpublished row (at most every five seconds).
    private func measureLag() async {
        let now = ContinuousClock.now
        let due = lastMeasured.withLock { last -> Bool in
            if let last, now - last < .seconds(5) { return false }
            last = now
            return true
        }
        guard due, let backlog = try? await withDeadline(seconds: 5, { [database] in try await Self.backlog(database) }) else { return }
        Self.record(backlog, database)
    }

    /// What waits in the outbox: how many rows, and how long the oldest has waited (0 when none).
    public struct Backlog: Sendable {
        public var records: Int64
        public var oldestSeconds: Double
    }

    public static func backlog(_ database: Database) async throws -> Backlog {
        for try await (age, count) in try await database.query(
            """
            SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at)), 0)::float8, count(*) FROM outbox WHERE published_at IS NULL
            """
        ).decode((Double, Int64).self) {
            return Backlog(records: count, oldestSeconds: age)
        }
        return Backlog(records: 0, oldestSeconds: 0)
    }

    /// Published rows a week old go once an hour, however busy the relay is.
    private func purgeIfDue(_ lastPurge: inout ContinuousClock.Instant) async {
        guard ContinuousClock.now - lastPurge > .seconds(3600) else { return }
        lastPurge = ContinuousClock.now
        await purgePublished()
    }

    /// Published rows are kept a week for audit and replay, then removed.
    func purgePublished() async {
        _ = try? await withDeadline(seconds: Self.roundDeadline) { [database] in
            try await database.query("DELETE FROM outbox WHERE published_at < now() - interval '7 days'")
        }
    }
}
