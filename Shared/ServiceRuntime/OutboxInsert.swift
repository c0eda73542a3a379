import Foundation
import PostgresNIO

/// The outbox row of one event, as a statement prepared once per connection: every write of
/// every service runs it, so it is parsed and planned once, not on each transaction (#15).
struct OutboxInsert: PostgresPreparedStatement {
    static let sql = Outbox.insertSQL(from: 1)
    typealias Row = ()

    let id: UUID
    let aggregateType: String
    let key: String
    let type: String
    let topic: String
    let payload: String
    let headers: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        append(to: &bindings)
        return bindings
    }

    /// The seven values in the statement's order (also for `Outbox.insertSQL(from:)`).
    func append(to bindings: inout PostgresBindings) {
        bindings.append(id)
        bindings.append(aggregateType)
        bindings.append(key)
        bindings.append(type)
        bindings.append(topic)
        bindings.append(payload)
        bindings.append(headers)
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// The inbox claim of one event for one consumer, prepared once per connection: true when the
/// id was new (see `EventConsumerService`).
struct InboxClaim: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO processed_events (consumer, event_id, outcome, record_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1
        """
    typealias Row = Int32

    let consumer: String
    let eventID: String
    let outcome: String
    let key: String?

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(consumer)
        bindings.append(eventID)
        bindings.append(outcome)
        bindings.append(key)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int32.self) }
}

/// The inbox claims of a batch of events for one consumer in one statement (see
/// `EventConsumerService.applyTogether`): returns the ids that were new. An id twice in the batch
/// is claimed once. A record without a key is stored with NULL (`keyed` false), as by `InboxClaim`.
struct InboxClaims: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO processed_events (consumer, event_id, outcome, record_key)
        SELECT $1, e.id, 'processed', CASE WHEN e.keyed THEN e.key END FROM unnest($2::text[], $3::text[], $4::bool[]) AS e(id, key, keyed)
        ON CONFLICT DO NOTHING RETURNING event_id
        """
    typealias Row = String

    let consumer: String
    let eventIDs: [String]
    let keys: [String]
    let keyed: [Bool]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(consumer)
        bindings.append(eventIDs)
        bindings.append(keys)
        bindings.append(keyed)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(String.self) }
}
