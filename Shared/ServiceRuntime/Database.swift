import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The service's connection pool, bound to its own role and schema. Every use waits at most
/// `acquireTimeout` for a connection: while Postgres is away a request is answered 503 within
/// that time instead of queueing behind a pool that cannot connect.
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let schema: String
    /// How long a transaction or query waits for a pooled connection (HPF_PG_ACQUIRE_TIMEOUT).
    public let acquireTimeout: Duration
    /// For sessions outside the pool (the outbox relay's own connection).
    let sessionConfiguration: PostgresConnection.Configuration

    public init(config: ServiceConfig, logger: Logger) throws {
        var configuration = PostgresClient.Configuration(
            host: config.pgHost, port: config.pgPort, username: config.pgUser, password: config.pgPassword,
            database: config.pgDatabase, tls: try config.transport.postgresClientTLS())
        // Unqualified table names resolve in the service's own schema only.
        configuration.options.additionalStartupParameters = [("search_path", config.schema)]
        configuration.options.maximumConnections = config.pgMaxConnections
        configuration.options.connectTimeout = .seconds(5)
        // No keep-alive pings. An idle connection closes after the pool's idle timeout (60 s)
        // anyway, and in postgres-nio 1.33.2 a ping can race that close: the pool closes an idle
        // connection whose ping is running, and a query written to a channel that has closed is
        // never answered, so the pool's stop would wait for that ping for ever. It is the likeliest
        // reading of contribution's pool holding a stop for 30 s (until PatientService gave up)
        // once after `make bench`; the race was not reproduced.
        configuration.options.keepAliveBehavior = nil
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        schema = config.schema
        acquireTimeout = .seconds(config.pgAcquireTimeoutSeconds)
        var session = try config.postgresConnection(user: config.pgUser, password: config.pgPassword)
        session.options.connectTimeout = .seconds(5)
        sessionConfiguration = session
    }

    /// A connection of its own, outside the pool, named `application_name` in `pg_stat_activity`.
    /// The caller closes it; a session lock it takes ends with it.
    public func openSession(named name: String) async throws -> PostgresConnection {
        var configuration = sessionConfiguration
        configuration.options.additionalStartupParameters.append(("application_name", name))
        return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
    }

    /// Runs `body` in one transaction. Errors thrown by `body` come back as themselves (not
    /// wrapped), so rule errors reach the HTTP layer as problems.
    public func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withLeasedConnection { connection in
                try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    /// Statements on one connection, without a transaction (each is its own).
    ///
    /// `closingOnFailure`: work that fails closes its connection, and the pool opens another. For
    /// work whose prepared statements may fail to prepare (cancelled, or under a short timeout,
    /// while Postgres prepares them): postgres-nio keeps such a statement failed for the
    /// connection's life.
    public func withConnection<T: Sendable>(closingOnFailure: Bool = false, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withLeasedConnection { connection in
            do {
                return try await body(connection)
            } catch {
                if closingOnFailure { try? await connection.close() }
                throw error
            }
        }
    }

    /// One statement, on a connection leased within the deadline; its rows are read before the
    /// connection goes back to the pool (statements sent this way return few rows).
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> QueryRows {
        try await withLeasedConnection { connection in
            QueryRows(rows: try await connection.query(query, logger: logger).collect())
        }
    }

    /// Leases a pooled connection for `body`, waiting at most `acquireTimeout` for it: a lease
    /// that has not come by then is withdrawn and `DatabaseUnavailable` thrown (one that comes
    /// later is handed straight back), so a caller told 503 can be sure nothing was written.
    /// The lease is taken on a child task and handed over, so `body` runs on the caller's task.
    func withLeasedConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let (leases, offer) = AsyncThrowingStream<PostgresConnection, any Error>.makeStream()
        let handback = Handback()
        let (client, limit) = (client, acquireTimeout)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await client.withConnection { connection in
                        // Refused when the caller stopped waiting (the deadline passed, or it was cancelled).
                        guard case .enqueued = offer.yield(connection) else { return }
                        // Not cancellable: the caller may still be using the connection when its
                        // task is cancelled, and it must not go back to the pool before the caller
                        // is done with it.
                        await handback.wait()
                    }
                } catch {
                    // The pool's own refusal (its circuit breaker, say) reaches the caller at once.
                    offer.finish(throwing: error)
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                offer.finish(throwing: DatabaseUnavailable(waited: limit))
            }
            defer {
                offer.finish()
                handback.done()
                group.cancelAll()
            }
            var next = leases.makeAsyncIterator()
            guard let connection = try await next.next() else { throw CancellationError() }
            return try await body(connection)
        }
    }

    public func isReachable() async -> Bool {
        do {
            _ = try await withDeadline(seconds: 2) { try await query("SELECT 1") }
            return true
        } catch {
            return false
        }
    }
}

/// The rows of one statement, read in full (`decode` works as on `PostgresRowSequence`).
public struct QueryRows: AsyncSequence, Sendable {
    public typealias Element = PostgresRow
    public let rows: [PostgresRow]

    public struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: IndexingIterator<[PostgresRow]>
        public mutating func next() async throws -> PostgresRow? { remaining.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: rows.makeIterator()) }
}

/// The lease task's wait for the caller to finish with a connection: one signal, no cancellation.
final class Handback: Sendable {
    private enum State { case waiting(CheckedContinuation<Void, Never>?), done }
    private let state = Mutex(State.waiting(nil))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if case .done = state { return true }
                state = .waiting(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    func done() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            defer { state = .done }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        waiter?.resume()
    }
}

public extension ServiceConfig {
    /// A single connection's settings (outside the pool) for `user`, in the service's schema: the
    /// migrator's, the start-up probe's and the outbox relay's.
    func postgresConnection(user: String, password: String) throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: pgHost, port: pgPort, username: user, password: password,
            database: pgDatabase, tls: try transport.postgresConnectionTLS())
        // Unqualified table names resolve in the service's own schema only.
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        return configuration
    }
}
