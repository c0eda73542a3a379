import Logging
import PostgresNIO

/// The service's connection pool, bound to its own role and schema.
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let schema: String

    public init(config: ServiceConfig, logger: Logger) throws {
        var configuration = PostgresClient.Configuration(
            host: config.pgHost, port: config.pgPort, username: config.pgUser, password: config.pgPassword,
            database: config.pgDatabase, tls: try config.transport.postgresClientTLS())
        // Unqualified table names resolve in the service's own schema only.
        configuration.options.additionalStartupParameters = [("search_path", config.schema)]
        configuration.options.maximumConnections = config.pgMaxConnections
        configuration.options.connectTimeout = .seconds(5)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        schema = config.schema
    }

    /// Runs `body` in one transaction. Errors thrown by `body` come back as themselves (not
    /// wrapped), so rule errors reach the HTTP layer as problems.
    public func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    /// Several reads on one connection, without a transaction.
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in try await body(connection) }
    }

    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await client.query(query, logger: logger)
    }

    public func isReachable() async -> Bool {
        do {
            _ = try await withTimeout(seconds: 2) { try await client.query("SELECT 1", logger: logger) }
            return true
        } catch {
            return false
        }
    }
}

/// Classifies database errors: transient ones (connection lost, serialization failure,
/// deadlock, server shutting down) are retried; anything else is not.
public enum DatabaseErrors {
    public static func isTransient(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            return [error.closureError, error.commitError, error.beginError].compactMap { $0 }.contains(where: isTransient)
        }
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                return state == "40001" || state == "40P01" || state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300"
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            default:
                return false
            }
        }
        if error is TimeoutError { return true }
        return false
    }

    public static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}

public struct TimeoutError: Error {}

/// Runs `body`, giving up after `seconds`.
public func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimeoutError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
