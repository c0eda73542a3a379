import Contracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import Synchronization

/// Rebuilds one read model from its topics and swaps the result in (`hpfctl rebuild`).
///
/// Fresh tables: on a connection of its own (the schema's owner, the role migrations use), the
/// rebuild makes a temporary copy of each table's shape and sets `search_path` to `pg_temp`
/// alone, so the model's projection writes the copies by their usual names and cannot reach any
/// other table. The topics are read from their start outside any group.
///
/// Which events: exactly those the live consumer applied. The consumer's inbox says so for each
/// event id (`processed`; a dead-lettered one is skipped, as the consumer skipped it). An event
/// the inbox does not know yet is where the consumer has got to in that partition (its frontier):
/// that partition waits there, since the consumer handles a partition in order; one it passed
/// without a record (offsets committed before a database was restored) is skipped, as it was.
/// Records without a valid writer signature are skipped too; duplicates are applied once.
///
/// The swap: catch-up rounds bring every partition to the consumer's frontier; then one
/// transaction locks the live tables against writers (readers go on), catches up the last few
/// events, and makes the live tables equal to the fresh ones row by row (by primary key:
/// changed rows updated, missing ones inserted, extra ones deleted). The tables keep their
/// identity, so their triggers see every change (the loan service's pool totals follow), and the
/// counts are the drift report. An event the consumer was applying meanwhile waits for the lock
/// and then lands in the swapped tables: it was not in the rebuild, so it counts once.
final class ReadModelRebuild: Sendable {
    let id: UUID
    let model: ReadModel
    let runtime: ServiceRuntime
    private let handlers: [String: EventHandler]
    private let progress = Mutex(Progress())
    private var logger: Logger { runtime.logger }

    struct Progress: Sendable {
        var total: Int64 = 0
        var read: Int64 = 0
        var applied: Int64 = 0
        var state = "running"
    }

    init(id: UUID, model: ReadModel, runtime: ServiceRuntime) {
        self.id = id
        self.model = model
        self.runtime = runtime
        handlers = Dictionary(model.projection.map { ($0.type.rawValue, $0) }, uniquingKeysWith: { $1 })
    }

    static let migration = Migration(
        10_005, "read-model rebuilds",
        """
        CREATE TABLE IF NOT EXISTS read_model_rebuilds (
            id uuid PRIMARY KEY,
            read_model text NOT NULL,
            consumer text NOT NULL,
            state text NOT NULL,
            requested_by text NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            events_total bigint NOT NULL DEFAULT 0,
            events_read bigint NOT NULL DEFAULT 0,
            events_applied bigint NOT NULL DEFAULT 0,
            tables jsonb,
            error text
        );
        CREATE UNIQUE INDEX IF NOT EXISTS read_model_rebuilds_one_running ON read_model_rebuilds (read_model) WHERE state IN ('running', 'swapping');
        """)

    /// A rebuild whose heartbeat is older than this was cut off (its process stopped; its fresh
    /// tables went with its connection) and no longer holds its read model.
    static let abandonedAfterSeconds = 120

    /// Runs to the end and records the outcome; never throws.
    func run() async {
        let started = ContinuousClock.now
        do {
            let tables = try await rebuild()
            let json = String(decoding: try JSONEncoder().encode(tables), as: UTF8.self)
            try await record(state: "done", tables: json, error: nil)
            let changed = tables.reduce(0) { $0 + $1.changed + $1.added + $1.removed }
            runtime.logger.notice(
                "read model rebuilt",
                metadata: [
                    "read_model": "\(model.name)", "rebuild_id": "\(id.uuidString.lowercased())", "rows_changed": "\(changed)",
                    "events_applied": "\(progress.withLock { $0.applied })",
                    "duration_ms": "\(RequestLogMiddleware.milliseconds(ContinuousClock.now - started))",
                ])
        } catch {
            let summary = String(DatabaseErrors.summary(error).prefix(1_000))
            runtime.logger.error("read model rebuild failed", metadata: ["read_model": "\(model.name)", "error": "\(summary)"])
            try? await record(state: "failed", tables: nil, error: summary)
        }
    }

    private func rebuild() async throws -> [ReadModelTableDiff] {
        let config = runtime.config
        let schema = Migrator.quoted(config.schema)
        let connection = try await PostgresConnection.connect(
            configuration: try config.postgresConnection(user: config.pgOwnerUser, password: config.pgOwnerPassword),
            id: 1, logger: logger)
        do {
            let diff = try await rebuild(on: connection, schema: schema)
            try? await connection.close()
            return diff
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func rebuild(on connection: PostgresConnection, schema: String) async throws -> [ReadModelTableDiff] {
        var shapes: [TableShape] = []
        for table in model.tables {
            let shape = try await TableShape.read(table, schema: runtime.config.schema, connection: connection, logger: logger)
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(Migrator.quoted(table)) (LIKE \(schema).\(Migrator.quoted(table)) INCLUDING ALL)"), logger: logger
            )
            shapes.append(shape)
        }
        // The rebuild's own inbox: a record published twice is applied once.
        try await connection.query("CREATE TEMP TABLE rebuild_applied (event_id text PRIMARY KEY)", logger: logger)
        try await connection.query("SET search_path = pg_temp", logger: logger)

        let groupID = "\(runtime.config.consumerGroup).\(model.consumer)"
        // The live consumer's group id: the reader can then ask where that consumer has got to.
        // It never subscribes nor commits, so the group does not notice it.
        let configuration = runtime.config.transport.apply(
            to: .consumer(
                brokers: runtime.config.kafkaBrokers, groupID: groupID,
                clientID: "\(runtime.descriptor.name)-rebuild-\(model.name)"))
        let reader = try KafkaConsumer(readerConfiguration: configuration, logger: logger)
        do {
            let ends = try await reader.watermarks(of: model.topics)
            try reader.readFromStart(Array(ends.keys))
            var replay = Replay(
                rebuild: self, reader: reader, connection: connection, schema: schema,
                partitions: ends.mapValues { Replay.Partition(next: $0.lowerBound) })
            progress.withLock { $0.total = ends.values.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }
            // 1. Up to the consumer's frontier (or the end the topics had when the rebuild began).
            try await replay.readToFrontier(ends: ends.mapValues(\.upperBound))
            // 2. Catch-up rounds while the consumer goes on, until a round applies little.
            for _ in 0..<10 {
                let before = progress.withLock { $0.applied }
                try await replay.catchUp()
                if progress.withLock({ $0.applied }) - before < 100 { break }
            }
            // 3. The swap, in one transaction with the live tables locked against writers.
            progress.withLock { $0.state = "swapping" }
            try await heartbeat(force: true)
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SET LOCAL lock_timeout = '30s'", logger: logger)
                let live = model.tables.map { "\(schema).\(Migrator.quoted($0))" }.joined(separator: ", ")
                try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(live) IN EXCLUSIVE MODE"), logger: logger)
                try await replay.catchUp()
                // The swap writes the live tables by their full names; their triggers (the loan
                // service's pool totals) name their own tables, found in the schema again.
                try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path = \(schema), pg_temp"), logger: logger)
                var diffs: [ReadModelTableDiff] = []
                for shape in shapes { diffs.append(try await shape.swap(schema: schema, connection: connection, logger: logger)) }
                try await connection.query("COMMIT", logger: logger)
                await reader.close()
                return diffs
            } catch {
                try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        } catch {
            await reader.close()
            throw error
        }
    }

    /// The walk through the topics, partition by partition in order.
    struct Replay {
        let rebuild: ReadModelRebuild
        let reader: KafkaConsumer
        let connection: PostgresConnection
        let schema: String
        var partitions: [TopicPartition: Partition]

        struct Partition {
            /// The next offset to read.
            var next: Int64
            /// Waiting at the consumer's frontier: the records from there on, in order.
            var waiting: [KafkaMessage]? = nil
        }

        /// Reads until each partition is at the consumer's frontier or past `ends`.
        mutating func readToFrontier(ends: [TopicPartition: Int64]) async throws {
            var quiet = ContinuousClock.now
            while partitions.contains(where: { $0.value.waiting == nil && $0.value.next < ends[$0.key] ?? 0 }) {
                let batch = try await reader.poll(maxMessages: 512, timeoutMs: 200)
                if batch.isEmpty {
                    // The topics hold these records (their watermarks said so): a reader that gets
                    // nothing for a minute has lost the broker.
                    if ContinuousClock.now - quiet > .seconds(60) { throw RebuildFailure("the topics delivered nothing for 60 s") }
                    try await rebuild.heartbeat()
                    continue
                }
                quiet = ContinuousClock.now
                try await apply(batch)
            }
        }

        /// Partitions waiting at the frontier try again (the consumer may have moved on), then
        /// everything is read to the consumer's new frontier or the topics' current end.
        mutating func catchUp() async throws {
            let waiting = partitions.filter { $0.value.waiting != nil }
            var held: [KafkaMessage] = []
            for (partition, state) in waiting {
                held += state.waiting ?? []
                partitions[partition]?.waiting = nil
            }
            reader.resume(Array(waiting.keys))
            if !held.isEmpty { try await apply(held) }
            let ends = try await reader.watermarks(of: rebuild.model.topics)
            try await readToFrontier(ends: ends.mapValues(\.upperBound))
        }

        /// Applies a batch in one transaction (inside the swap's, when one is open).
        mutating func apply(_ batch: [KafkaMessage]) async throws {
            // Each record once: is it an event of the model, with a valid writer signature?
            let keys = rebuild.runtime.eventKeys
            let candidates = batch.map { message -> (KafkaMessage, id: String, EventHandler)? in
                guard let header = try? CloudEventCoding.header(from: message.value), let handler = rebuild.handlers[header.type],
                    keys.rejection(of: message) == nil
                else { return nil }
                return (message, header.id, handler)
            }
            let ids = candidates.compactMap { $0?.id }
            // What the consumer did with each of the batch's events, in one question.
            var outcomes: [String: String] = [:]
            if !ids.isEmpty {
                let rows = try await connection.query(
                    """
                    SELECT event_id, outcome FROM \(unescaped: schema).processed_events WHERE consumer = \(rebuild.model.consumer) AND event_id = ANY(\(ids))
                    """, logger: rebuild.logger)
                for try await (id, outcome) in rows.decode((String, String).self) { outcomes[id] = outcome }
            }
            // Where the consumer's group stands matters only for events its inbox does not know.
            let unknown = candidates.contains { $0.map { outcomes[$0.id] == nil } ?? false }
            let committed =
                unknown ? try await reader.committedOffsets(Array(Set(batch.map { TopicPartition(topic: $0.topic, partition: $0.partition) }))) : [:]
            var applied: Int64 = 0, read: Int64 = 0
            let inTransaction = rebuild.progress.withLock { $0.state == "swapping" }
            if !inTransaction { try await connection.query("BEGIN", logger: rebuild.logger) }
            do {
                for (message, candidate) in zip(batch, candidates) {
                    let partition = TopicPartition(topic: message.topic, partition: message.partition)
                    guard var state = partitions[partition], message.offset >= state.next else { continue }
                    if state.waiting != nil {
                        state.waiting?.append(message)
                        partitions[partition] = state
                        continue
                    }
                    if let (_, id, handler) = candidate {
                        switch outcomes[id] {
                        case "processed":
                            if try await claim(id) {
                                try await handler.handle(message.value, rebuild.runtime.context(on: connection))
                                applied += 1
                            }
                        case .some:
                            break  // dead-lettered by the consumer: not in its tables either
                        case nil where (committed[partition] ?? -1) > message.offset:
                            break  // passed by the consumer without a record of it
                        case nil:
                            // The consumer has not got here yet: this partition waits.
                            state.waiting = [message]
                            partitions[partition] = state
                            reader.pause([partition])
                            continue
                        }
                    }
                    state.next = message.offset + 1
                    partitions[partition] = state
                    read += 1
                }
                if !inTransaction { try await connection.query("COMMIT", logger: rebuild.logger) }
            } catch {
                if !inTransaction { try? await connection.query("ROLLBACK", logger: rebuild.logger) }
                throw error
            }
            rebuild.progress.withLock {
                $0.read += read
                $0.applied += applied
                $0.total = max($0.total, $0.read)
            }
            try await rebuild.heartbeat()
        }

        private func claim(_ eventID: String) async throws -> Bool {
            let rows = try await connection.query("INSERT INTO rebuild_applied VALUES (\(eventID)) ON CONFLICT DO NOTHING RETURNING 1", logger: rebuild.logger)
            for try await _ in rows { return true }
            return false
        }
    }

    private let lastBeat = Mutex(ContinuousClock.now)

    /// Writes the progress at most once a second (the operator's progress bar reads it).
    func heartbeat(force: Bool = false) async throws {
        let due = lastBeat.withLock { last in
            guard force || ContinuousClock.now - last >= .seconds(1) else { return false }
            last = ContinuousClock.now
            return true
        }
        guard due else { return }
        let p = progress.withLock { $0 }
        try await runtime.database.query(
            """
            UPDATE read_model_rebuilds SET heartbeat_at = now(), state = \(p.state), events_total = \(p.total), events_read = \(p.read),
                events_applied = \(p.applied) WHERE id = \(id)
            """)
    }

    private func record(state: String, tables: String?, error: String?) async throws {
        let p = progress.withLock { $0 }
        try await runtime.database.query(
            """
            UPDATE read_model_rebuilds SET state = \(state), finished_at = now(), heartbeat_at = now(), events_total = \(p.total),
                events_read = \(p.read), events_applied = \(p.applied), tables = \(tables)::jsonb, error = \(error) WHERE id = \(id)
            """)
    }
}

struct RebuildFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
