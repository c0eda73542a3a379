import ArgumentParser
import Contribution
import Enrolment
import Foundation
import Loan
import RegionalSync
import Subsidy
import Withdrawal

/// The local stacks of `Tools/devstack/env.sh`: `make run`'s (the ports of CONTRACT.md, services
/// 8081-8086, Postgres 55432) and `make bench`'s (services 1000 ports up, 9081-9086, Postgres
/// 55434). The commands that talk to the services default to make run's; the benchmarks default
/// to make bench's and refuse make run's, so that a benchmark never floods or seeds the running suite.
enum Stack {
    struct Service: Sendable {
        let name: String
        let port: Int
        var url: String { "http://127.0.0.1:\(port)" }
    }

    /// The six services on make run's stack, in the order of CONTRACT.md: their own descriptors'
    /// names and default ports (the one list, which deploycheck.py holds the rest of the stack to).
    static let services: [Service] = [
        EnrolmentService.descriptor, ContributionService.descriptor, SubsidyService.descriptor,
        WithdrawalService.descriptor, LoanService.descriptor, RegionalSyncService.descriptor,
    ].map { Service(name: $0.name, port: $0.defaultPort) }
    /// make bench's services listen this many ports up (HPF_SERVICE_PORT_OFFSET in bench.sh).
    static let benchPortOffset = 1000
    /// make run's Postgres (env.sh; also the services' default HPF_PG_PORT).
    static let runPostgresPort = 55432
    /// make bench's Postgres (HPF_STACK=bench).
    static let benchPostgresPort = 55434

    static func port(of name: String) -> Int {
        guard let service = services.first(where: { $0.name == name }) else { preconditionFailure("no service \(name)") }
        return service.port
    }

    /// A service's URL on make run's stack.
    static func runURL(_ name: String) -> String { "http://127.0.0.1:\(port(of: name))" }

    /// A service's URL on make bench's stack.
    static func benchURL(_ name: String) -> String { "http://127.0.0.1:\(port(of: name) + benchPortOffset)" }

    /// The service a URL names by its port on either stack, else its host and port.
    static func serviceName(of url: String) -> String {
        let components = URLComponents(string: url)
        if let port = components?.port,
            let service = services.first(where: { $0.port == port || $0.port + benchPortOffset == port })
        {
            return service.name
        }
        let place = [components?.host, components?.port.map { String($0) }].compactMap { $0 }.joined(separator: ":")
        return place.isEmpty ? url : place
    }

    /// Refuses a benchmark's URL on one of make run's service ports (whatever the host).
    static func refuseRunStack(_ url: String, option: String) throws {
        guard let port = URLComponents(string: url)?.port, services.contains(where: { $0.port == port }) else { return }
        throw ValidationError(
            """
            \(option) \(url) is a port of make run's stack (8081-8086, the running suite): benchmarks run \
            against make bench's stack (9081-9086, as `make bench` starts it) or a stack of their own
            """)
    }

    /// The Postgres port a command that seeds the database would write to: HPF_PG_PORT, as the
    /// services read it (55432 when unset).
    static var postgresPort: Int { Environment.variables["HPF_PG_PORT"].flatMap { Int($0) } ?? runPostgresPort }

    /// Refuses to seed make run's Postgres.
    static func refuseRunStackDatabase(_ command: String) throws {
        guard postgresPort == runPostgresPort else { return }
        throw ValidationError(
            """
            \(command) seeds straight into the database, and HPF_PG_PORT=\(postgresPort) is make run's Postgres \
            (the running suite's): run it on make bench's stack (HPF_PG_PORT=\(benchPostgresPort), as \
            `make bench` does) or one of your own
            """)
    }
}
