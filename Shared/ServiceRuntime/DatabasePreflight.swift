import Foundation
import Logging
import PostgresNIO

/// The first contact with Postgres at start, on one direct connection rather than the pool: the
/// pool retries every failure for ever, so a wrong password would leave a service that looks
/// alive and never serves. Refused credentials or an unknown database end the service at once,
/// naming the setting; a server that is not reachable yet is waited for up to
/// HPF_PG_CONNECT_TIMEOUT seconds.
enum DatabasePreflight {
    static func check(config: ServiceConfig, logger: Logger) async throws {
        let configuration = try config.postgresConnection(user: config.pgUser, password: config.pgPassword)
        let deadline = Date().addingTimeInterval(TimeInterval(config.pgConnectTimeoutSeconds))
        var attempt = 0
        while true {
            attempt += 1
            do {
                let connection = try await withTimeout(seconds: 5) {
                    try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                }
                try await connection.close()
                return
            } catch {
                let state = DatabaseErrors.sqlState(error) ?? ""
                if state.hasPrefix("28") {
                    throw ConfigurationError(
                        variable: "HPF_PG_PASSWORD",
                        reason: "Postgres refused the credentials of role \(config.pgUser) (SQLSTATE \(state)); check HPF_PG_USER and HPF_PG_PASSWORD")
                }
                if state == "3D000" {
                    throw ConfigurationError(variable: "HPF_PG_DATABASE", reason: "database \(config.pgDatabase) does not exist")
                }
                guard Date() < deadline else {
                    throw ConfigurationError(
                        variable: "HPF_PG_HOST",
                        reason: "Postgres at \(config.pgHost):\(config.pgPort) was not reachable within \(config.pgConnectTimeoutSeconds) s")
                }
                logger.warning(
                    "Postgres not reachable yet; retrying", metadata: ["attempt": "\(attempt)", "host": "\(config.pgHost)", "port": "\(config.pgPort)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
