import Contracts
import Logging
import Policy
import PostgresNIO

/// Everything work on the database needs, as one value: the connection, a logger that names
/// what the work serves (the request's id, the event's id), the business day it runs on, and the
/// service it belongs to (parameters, the events it writes). Passed down in place of
/// `(runtime:, connection:, logger:)`.
///
/// From `ServiceRuntime.transaction` it is one transaction, and `today` is read once when it
/// begins, so one unit of work sees one business day even across midnight. From
/// `ServiceRuntime.reading` it is a pooled connection without a transaction (reads only).
public struct DatabaseContext: Sendable {
    public let connection: PostgresConnection
    public let logger: Logger
    /// The business day of this work (`BusinessClock.today` when it began).
    public let today: BusinessDate
    public let runtime: ServiceRuntime
    /// Steps the transaction runs once before it commits (`onceBeforeCommit`); nil where its
    /// runner keeps no such list.
    public let beforeCommit: BeforeCommit?

    public init(connection: PostgresConnection, logger: Logger, today: BusinessDate, runtime: ServiceRuntime, beforeCommit: BeforeCommit? = nil) {
        self.connection = connection
        self.logger = logger
        self.today = today
        self.runtime = runtime
        self.beforeCommit = beforeCommit
    }

    /// The scheme's parameters (`PolicyParameters`).
    public var parameters: PolicyParameters { runtime.parameters }

    /// Sends one statement on this work's connection, logged under this work's logger.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger)
    }

    /// Runs a prepared statement (parsed and planned once per pooled connection).
    public func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row> {
        try await connection.execute(statement, logger: logger)
    }

    /// Writes an event for `account` through the outbox, in this transaction (a time-ordered id:
    /// the outbox's key index grows at its right edge).
    public func emit<P: Codable & Sendable>(_ type: EventType, _ data: P, account: String) async throws {
        try await Outbox.write(try runtime.outboxRow(type, data, account: account), on: connection, logger: logger)
    }

    /// The outbox row `emit` would write, for a statement that writes it with its business row
    /// (`Outbox.insertSQL(from:)`, `Outbox.Row.appendBindings`); the caller counts it with `Outbox.wrote(1)` once written.
    public func outboxRow<P: Codable & Sendable>(_ type: EventType, _ data: P, account: String) throws -> Outbox.Row {
        try runtime.outboxRow(type, data, account: account)
    }

    /// The same work under a logger with more to say (a job's account, say).
    public func with(logger: Logger) -> DatabaseContext {
        DatabaseContext(connection: connection, logger: logger, today: today, runtime: runtime, beforeCommit: beforeCommit)
    }
}
