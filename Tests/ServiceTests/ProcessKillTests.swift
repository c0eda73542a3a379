import Contribution
import Enrolment
import Foundation
import Glibc
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import ServiceRuntime
import Testing

/// A service run as its own process, from the executable the build made: for what only a process
/// shows. A SIGKILL runs none of the service's code (no cancellation, no leaving the consumer
/// group, no closing of sessions): what survives it is only what Postgres and the broker keep.
struct ServiceProcess: Sendable {
    let process: ChildProcess
    let port: Int
    let log: URL

    /// The process's HTTP port, for `JSONClient` (which speaks real HTTP to a port).
    struct Port: TestClientProtocol {
        let port: Int?
        func executeRequest(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> TestResponse {
            throw CancellationError()  // never used: JSONClient goes through `port`
        }
    }

    var client: JSONClient { JSONClient(client: Port(port: port)) }

    /// Starts `executable` (beside the test bundle) with `config` as its environment would give it:
    /// the same database role, broker and consumer groups as an in-process instance of that config.
    static func launch(_ executable: String, config: ServiceConfig) throws -> ServiceProcess {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var binary = directory.appendingPathComponent(executable)
        // `swift test` runs the bundle from .build/<triple>/debug; the products are beside it.
        if !FileManager.default.isExecutableFile(atPath: binary.path) {
            binary = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/\(executable)")
        }
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw CommandFailure("no executable \(executable) beside the tests (swift build --build-tests builds it)")
        }
        let port = try freePort()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hpf-\(executable)-\(port).log")
        var environment = ProcessInfo.processInfo.environment
        let settings: [String: String] = [
            "HPF_ENV": "development", "HPF_HTTP_PORT": "\(port)", "HPF_PG_HOST": config.pgHost, "HPF_PG_PORT": "\(config.pgPort)",
            "HPF_PG_USER": config.pgUser, "HPF_PG_PASSWORD": config.pgPassword, "HPF_KAFKA_BROKERS": config.kafkaBrokers,
            "HPF_CONSUMER_GROUP": config.consumerGroup, "HPF_BUSINESS_DATE": TestStack.today.description,
            "HPF_PG_MAX_CONNECTIONS": "\(config.pgMaxConnections)", "HPF_PG_ACQUIRE_TIMEOUT": "\(config.pgAcquireTimeoutSeconds)",
            "HPF_RATE_LIMIT_CITIZEN": "0", "HPF_RATE_LIMIT_ADDRESS": "0", "HPF_LOG_LEVEL": "warning", "HPF_LOG_FORMAT": "text",
        ]
        environment.merge(settings) { _, own in own }
        let process = try ChildProcess(executable: binary.path, environment: environment, output: log.path)
        return ServiceProcess(process: process, port: port, log: log)
    }

    /// Ends the process with SIGKILL and waits for it to be gone.
    func kill() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    /// A port nothing listens on now (the kernel's choice for a socket bound to port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommandFailure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw CommandFailure("bind() failed") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw CommandFailure("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct CommandFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

@Suite("An instance killed with SIGKILL")
struct ProcessKillTests {
    @Test("a ledger instance killed with SIGKILL amid deposits: each deposit takes effect once, its partitions and its relay pass to the survivor")
    func ledgerKilledAmidDeposits() async throws {
        // The doomed instance is a process of its own; the survivor runs in the test, on the same
        // configuration: one database role, one broker, the same consumer groups.
        let config = TestStack.config(ContributionService.descriptor)
        let doomed = try ServiceProcess.launch("contribution", config: config)
        defer { doomed.kill() }
        try await TestStack.withServices([StackService(EnrolmentService.self), StackService(ContributionService.self, config: config)]) { stack in
            let other = doomed.client
            #expect(
                try await TestStack.eventually(seconds: 180) { (try? await other.get("/ready").status) == 200 },
                "the process answers /ready (log: \(doomed.log.path))")
            func open() async throws -> String {
                let person = TestStack.newResidentID(birth: "1990-05-0\(Int.random(in: 1...9))", male: Bool.random())
                return try await TestStack.enrol(stack.enrolment, stack.ledger, Bodies.enrolment(idNumber: person))
            }
            var accounts: [String] = []
            for _ in 0..<4 { accounts.append(try await open()) }

            // Distinct amounts, so a deposit applied twice or lost shows in the balance.
            struct Deposit: Sendable {
                let account: String
                let body: String
                let amount: Int
            }
            var deposits: [Deposit] = []
            func deposit(_ index: Int, to account: String) -> Deposit {
                let amount = 20_000 + index
                let made = Deposit(
                    account: account, body: Bodies.contribution(account: account, amountFen: amount, txn: TestStack.unique("kill")), amount: amount)
                deposits.append(made)
                return made
            }
            // Both instances at work, in turn.
            for index in 0..<12 {
                let made = deposit(index, to: accounts[index % accounts.count])
                let reply = try await (index.isMultiple(of: 2) ? other : stack.ledger).post("/v1/contributions", made.body)
                #expect(reply.status == 201, "\(reply.text)")
            }
            // Eight deposits in flight at the doomed instance when it is killed: some committed,
            // some not, none of their answers trustworthy.
            let inFlight = (12..<20).map { deposit($0, to: accounts[$0 % accounts.count]) }
            let answers = Task {
                await withTaskGroup(of: Int?.self) { group in
                    for made in inFlight { group.addTask { try? await other.post("/v1/contributions", made.body).status } }
                    return await group.reduce(into: [Int?]()) { $0.append($1) }
                }
            }
            try await Task.sleep(for: .milliseconds(20))
            doomed.kill()
            _ = await answers.value
            // The channel sends again whatever it is not sure of (all eight): the survivor answers
            // each as new (201) or as the deposit already recorded (200), never twice.
            for made in inFlight {
                let reply = try await stack.ledger.post("/v1/contributions", made.body)
                #expect(reply.status == 201 || reply.status == 200, "\(reply.text)")
            }
            // Accounts opened after the kill: their account-opened events may fall on partitions the
            // dead process held, which the survivor takes once the group drops it (session timeout).
            for _ in 0..<2 { accounts.append(try await open()) }
            for index in 20..<26 {
                let made = deposit(index, to: accounts[index % accounts.count])
                let reply = try await stack.ledger.post("/v1/contributions", made.body)
                #expect(reply.status == 201, "\(reply.text)")
            }

            for account in accounts {
                let mine = deposits.filter { $0.account == account }
                let entries = (try await stack.ledger.get("/v1/accounts/\(account)/ledger")["entries"] as? [[String: Any]]) ?? []
                let contributions = entries.filter { $0["kind"] as? String == "contribution" }.compactMap { ($0["amountFen"] as? NSNumber)?.int64Value }
                #expect(contributions.sorted() == mine.map { Int64($0.amount) }.sorted(), "account \(account): each deposit once")
            }
            // Every event the dead process's transactions committed is published: its relay's lock
            // went with its database session, and the survivor's relay took the schema over.
            let connection = try await PostgresConnection.connect(
                configuration: try config.postgresConnection(user: config.pgUser, password: config.pgPassword), id: 1, logger: TestStack.logger)
            #expect(
                try await TestStack.eventually(seconds: 120) {
                    var waiting: Int64 = -1
                    for try await count in try await connection.query(
                        "SELECT count(*) FROM outbox WHERE published_at IS NULL", logger: TestStack.logger
                    ).decode(Int64.self) { waiting = count }
                    return waiting == 0
                }, "the outbox is drained")
            try await connection.close()
        }
    }
}
