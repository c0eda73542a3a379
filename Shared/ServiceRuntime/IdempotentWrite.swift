import Logging
import PostgresNIO

/// What an idempotent write found under its natural key: the fingerprint of the request that
/// wrote it, and what the replay answers from.
public struct StoredRequest<Stored: Sendable>: Sendable {
    public let fingerprint: String
    public let stored: Stored
    public init(fingerprint: String, stored: Stored) {
        self.fingerprint = fingerprint
        self.stored = stored
    }
}

extension ServiceRuntime {
    /// The one shape of a write that is idempotent on a natural key (a request id, a month, a
    /// lease): under the key's lock (`lock`, transaction-scoped advisory locks, taken in the order
    /// of their hashes so that two writes naming the same keys never deadlock; empty when `find` locks a row
    /// itself, and several when the decision reads more than one party's facts, as a household's
    /// loan does), look the key up; a request stored with the same fingerprint is
    /// answered again from what it wrote (a replay: nothing is written), one with another
    /// fingerprint is refused with `mismatch` (409: nothing is written); a new key is `write`n.
    /// Runs in `idempotentTransaction`, so two first deliveries racing past the lookup end as one
    /// write and one replay. Returns the answer and whether it was a replay.
    public func idempotentWrite<Stored: Sendable, Answer: Sendable>(
        lock keys: [String],
        logger: Logger? = nil,
        find: (DatabaseContext) async throws -> StoredRequest<Stored>?,
        fingerprint: String,
        mismatch: @Sendable () -> Problem,
        replay: (Stored, DatabaseContext) async throws -> Answer,
        write: (DatabaseContext) async throws -> Answer
    ) async throws -> (answer: Answer, replay: Bool) {
        try await idempotentTransaction(logger: logger) { db in
            if !keys.isEmpty {
                // One statement, the locks taken in the order of the locks themselves (the keys'
                // hashes, each once): in the keys' own order, two keys whose hashes order the other
                // way, or collide, could still meet two writes in opposite orders.
                for try await _ in try await db.execute(KeyLocks(keys: keys)) {}
            }
            if let found = try await find(db) {
                guard found.fingerprint == fingerprint else { throw mismatch() }
                return (try await replay(found.stored, db), true)
            }
            return (try await write(db), false)
        }
    }
}

/// The transaction-scoped advisory locks of an idempotent write's keys, in the order of their
/// hashes (each once); prepared once per connection, since every such write begins with it.
struct KeyLocks: PostgresPreparedStatement {
    static let sql = "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS locks"
    /// One `void` column per lock: nothing to read.
    typealias Row = ()
    let keys: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(keys)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}
