import Contracts
import Foundation
import PostgresNIO
import Synchronization

/// Writes events into the service's outbox inside the caller's transaction: the event is
/// published if and only if the business change commits.
public enum Outbox {
    /// The aggregate type of rows that carry personal data for a partner: deleted once delivered.
    public static let personalData = "personal-data"

    public static func enqueue<P>(
        _ event: CloudEvent<P>, topic: Topic, aggregateType: String = "account",
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await enqueue(event, topic: topic.name, aggregateType: aggregateType, on: connection, logger: logger)
    }

    /// `headers` computes record headers from the exact bytes that will be published (a
    /// signature, say); the relay sends them after `content-type`. `key` is the record key (the
    /// event's subject unless given).
    public static func enqueue<P>(
        _ event: CloudEvent<P>, topic: String, aggregateType: String = "account", key: String? = nil,
        headers: ([UInt8]) throws -> [String: String] = { _ in [:] },
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await write(try Row(event, topic: topic, aggregateType: aggregateType, key: key, headers: headers), on: connection, logger: logger)
    }

    /// Writes `row` on its own (prepared) statement and counts it.
    public static func write(_ row: Row, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.execute(row.insert, logger: logger)
        wrote(1)
    }

    /// One outbox row, its event encoded and its record headers taken, not yet written: for a
    /// prepared statement that writes a business row and its event together (`insertSQL(from:)`
    /// and `appendBindings`).
    public struct Row: Sendable {
        let insert: OutboxInsert

        public init<P>(
            _ event: CloudEvent<P>, topic: String, aggregateType: String = "account", key: String? = nil,
            headers: ([UInt8]) throws -> [String: String] = { _ in [:] }
        ) throws {
            let bytes = try CloudEventCoding.encode(event)
            // The trace the writing request or event belongs to travels with the record (`traceparent`),
            // on our own topics only: our trace ids are not a partner city's business.
            let trace = Topic.partnerCity(outboundTopic: topic) == nil ? W3CTracePropagation().headers() : [:]
            let fields = trace.merging(try headers(bytes)) { _, own in own }
            insert = OutboxInsert(
                id: UUID(uuidString: event.id) ?? UUID(), aggregateType: aggregateType, key: key ?? event.subject, type: event.type,
                topic: topic, payload: String(decoding: bytes, as: UTF8.self),
                headers: String(decoding: try JSONEncoder().encode(fields), as: UTF8.self))
        }

        /// Its seven values, in `insertSQL`'s order.
        public func appendBindings(to bindings: inout PostgresBindings) { insert.append(to: &bindings) }
    }

    /// Several rows as columns, for a prepared statement of the caller's that writes many
    /// business rows and their events at once (`insertSQL(from:)` and `appendBindings`, seven
    /// arrays, one element per row).
    public struct Columns: Sendable {
        private var rows: [OutboxInsert] = []

        public init() {}

        public mutating func append(_ row: Row) { rows.append(row.insert) }

        /// The seven arrays, in `insertSQL`'s order.
        public func appendBindings(to bindings: inout PostgresBindings) {
            bindings.append(rows.map(\.id))
            bindings.append(rows.map(\.aggregateType))
            bindings.append(rows.map(\.key))
            bindings.append(rows.map(\.type))
            bindings.append(rows.map(\.topic))
            bindings.append(rows.map(\.payload))
            bindings.append(rows.map(\.headers))
        }

        /// The rows' insert, taking parameters $n...$n+6 (`appendBindings`).
        public static func insertSQL(from n: Int) -> String {
            """
            INSERT INTO outbox (id, aggregatetype, aggregateid, type, topic, payload, headers)
            SELECT id, aggregatetype, aggregateid, type, topic, payload, headers::jsonb
            FROM unnest($\(n)::uuid[], $\(n + 1)::text[], $\(n + 2)::text[], $\(n + 3)::text[], $\(n + 4)::text[], $\(n + 5)::text[], $\(n + 6)::text[])
                AS e(id, aggregatetype, aggregateid, type, topic, payload, headers)
            """
        }
    }

    /// The same row for a prepared statement of the caller's that ends with its insert:
    /// `insertSQL(from: n)` takes parameters $n...$n+6, which `appendBindings` supplies in order.
    public static func insertSQL(from n: Int) -> String {
        insertInto + "($\(n), $\(n + 1), $\(n + 2), $\(n + 3), $\(n + 4), $\(n + 5), $\(n + 6)::jsonb)"
    }

    /// The insert's head, up to its values (in `OutboxInsert.append(to:)`'s order).
    static let insertInto = "INSERT INTO outbox (id, aggregatetype, aggregateid, type, topic, payload, headers) VALUES "

    /// Counts rows a statement of the caller's wrote to the outbox (see `OutboxWrites`).
    public static func wrote(_ rows: Int) { OutboxWrites.current?.add(rows) }
}

public extension Outbox {
    /// Many events in one statement (for jobs that emit thousands at once).
    static func enqueue<P>(
        batch events: [CloudEvent<P>], topic: Topic, aggregateType: String = "account",
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !events.isEmpty else { return }
        let encoder = CloudEventCoding.encoder()
        let ids = events.map { UUID(uuidString: $0.id) ?? UUID() }
        let keys = events.map(\.subject)
        let types = events.map(\.type)
        let payloads = try events.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try await connection.query(
            """
            INSERT INTO outbox (id, aggregatetype, aggregateid, type, topic, payload)
            SELECT id, \(aggregateType), key, type, \(topic.name), payload
            FROM unnest(\(ids)::uuid[], \(keys)::text[], \(types)::text[], \(payloads)::text[]) AS e(id, key, type, payload)
            """, logger: logger)
        wrote(events.count)
    }
}

/// The outbox rows written under it (task-local), so that a consumer wakes the relay only after
/// a transaction that gave it something to publish: most events a consumer applies write none,
/// and each wake costs the relay a query.
public final class OutboxWrites: Sendable {
    @TaskLocal public static var current: OutboxWrites?
    private let count = Atomic<Int>(0)

    public init() {}

    func add(_ rows: Int) { count.add(rows, ordering: .relaxed) }

    /// Whether any row was written (committed or not: the caller asks after its commit).
    public var wroteAny: Bool { count.load(ordering: .relaxed) > 0 }
}

/// Wakes the relay as soon as a transaction that wrote to the outbox commits, so events leave
/// within milliseconds; the relay's polling stays the source of truth.
public final class OutboxSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func notify() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next notification (or at once if one came since the last wait), or when
    /// the task is cancelled: a relay waiting here when its service stops must not hold the
    /// shutdown (it did, and a service whose port was taken never exited).
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready: Bool = state.withLock { state in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            notify()
        }
    }
}
