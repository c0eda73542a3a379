import PostgresNIO

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
                // Serialization failure, deadlock, too many connections, out of disk or memory, a
                // cancelled statement, an I/O error, a read-only server (a failover caught half-way),
                // the connection class, admin shutdown or crash.
                return ["40001", "40P01", "53300", "53100", "53200", "57014", "58030", "25006"].contains(state) || state.hasPrefix("08")
                    || state.hasPrefix("57P")
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            default:
                return false
            }
        }
        if error is TimeoutError || error is DatabaseUnavailable { return true }
        // The pool's own errors (its circuit breaker open after failed connection attempts, a
        // connection request timed out) and the socket's (refused, reset) mean Postgres is away.
        let type = String(reflecting: Swift.type(of: error))
        return ["ConnectionPoolError", "IOError", "NIOConnectionError", "ChannelError", "NIOSSLError"].contains { type.hasSuffix($0) }
    }

    public static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// What an operator may read of a failure: for a Postgres error its SQLSTATE and primary
    /// message (never the statement's values, which `detail` and the binds can hold).
    public static func summary(_ error: any Error) -> String {
        guard let info = (error as? PSQLError)?.serverInfo else { return "\(error)" }
        return "database error \(info[.sqlState] ?? "?"): \(info[.message] ?? "no message")"
    }
}

/// No database connection within the acquire deadline: answered 503 with `Retry-After`.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let waited: Duration
    public var description: String { "no database connection within \(waited.components.seconds) s" }
}
