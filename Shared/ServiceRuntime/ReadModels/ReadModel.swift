import Contracts
import PostgresNIO
import Synchronization

/// A read model: tables a consumer builds from other services' events, and nothing else writes.
/// Its `projection` handlers are the part of the consumer's handlers that write those tables and
/// only those (no events emitted, no other table touched), so that the model can be rebuilt by
/// replaying its topics from the start into fresh tables (`ReadModelRebuild`). The consumer's
/// live handlers are the projection plus whatever else the event sets off.
public struct ReadModel: Sendable {
    /// As the operator names it: `hpfctl rebuild loan ledger`.
    public let name: String
    /// The consumer whose inbox says which events the live tables hold.
    public let consumer: String
    public let topics: [String]
    /// Each with a primary key (a rebuild compares the tables row by row on it).
    public let tables: [String]
    public let projection: [EventHandler]

    public init(name: String, consumer: String, topics: [Topic], tables: [String], projection: [EventHandler]) {
        self.name = name
        self.consumer = consumer
        self.topics = topics.map(\.name)
        self.tables = tables
        self.projection = projection
    }
}

/// The service's read models by name, for the operator's rebuild routes.
public final class ReadModelDirectory: Sendable {
    private let models = Mutex<[String: ReadModel]>([:])

    public init() {}

    func register(_ model: ReadModel) { models.withLock { $0[model.name] = model } }

    func model(named name: String) -> ReadModel? { models.withLock { $0[name] } }

    var all: [ReadModel] { models.withLock { $0.values.sorted { $0.name < $1.name } } }
}

extension EventHandler {
    /// This handler, then `more` on the same event in the same transaction: a live handler is a
    /// read model's projection followed by what the event sets off beyond the model.
    public func then<Payload: Codable & Sendable>(
        _ payload: Payload.Type,
        _ more: @escaping @Sendable (CloudEvent<Payload>, DatabaseContext) async throws -> Void
    ) -> EventHandler {
        let first = handle
        return EventHandler(type: type) { bytes, db in
            try await first(bytes, db)
            try await more(try CloudEventCoding.decode(Payload.self, from: bytes), db)
        }
    }
}

extension EventHandler {
    /// This handler, then `more` in the same transaction, whatever the event said. A run applied
    /// together (`handleRun`) runs `more` once, after the run: so `more` must be work that is the
    /// same done once after the run as after each event (a step listed to run before the commit,
    /// `onceBeforeCommit`, as the fund pool's release is).
    public func then(_ more: @escaping @Sendable (DatabaseContext) async throws -> Void) -> EventHandler {
        let first = handle
        var together: (@Sendable ([RunMember<[UInt8]>], DatabaseContext) async throws -> Void)?
        if let firstRun = handleRun {
            together = { events, db in
                try await firstRun(events, db)
                try await more(db)
            }
        }
        return EventHandler(
            type: type,
            handle: { bytes, db in
                try await first(bytes, db)
                try await more(db)
            },
            handleRun: together)
    }
}
