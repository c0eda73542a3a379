import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Policy
import ServiceRuntime
import Synchronization

/// The dev stack that `make test` starts: its ports come from the environment.
enum TestStack {
    static let environment = ProcessInfo.processInfo.environment
    static var brokers: String { environment["HPF_KAFKA_BROKERS"] ?? "127.0.0.1:9093" }
    static let logger: Logger = {
        var logger = Logger(label: "hpf.test")
        logger.logLevel = .warning
        return logger
    }()

    /// A service's configuration for a test: any free port, its own consumer groups, a
    /// pinned business date inside the scheme's validity window.
    static func config(_ descriptor: ServiceDescriptor) -> ServiceConfig {
        var env = environment
        env["HPF_PG_PORT"] = env["HPF_PG_PORT"] ?? "55433"
        env["HPF_KAFKA_BROKERS"] = brokers
        env["HPF_ENV"] = "development"
        var config = ServiceConfig(descriptor: descriptor, environment: env)
        config.httpPort = 0
        // Dozens of services run side by side in one test process against one Postgres: small
        // pools keep them all under its max_connections (a full Postgres makes every pool wait).
        config.pgMaxConnections = 6
        // With pools that small and the whole suite on two cores, a connection can take more than
        // the production 5 s to come free; a 503 there would be a false failure.
        config.pgAcquireTimeoutSeconds = 30
        config.consumerGroup = "hpf.test.\(UUID().uuidString.prefix(8).lowercased()).\(descriptor.name)"
        // The test stack is a development stack: development tokens and channel keys are accepted.
        config.environment = "development"
        // Tests send bursts from one address as one subject; the rate-limit test sets its own limits.
        config.citizenRateLimit = 0
        config.addressRateLimit = 0
        config.logLevel = "warning"
        config.jsonLogs = false
        return config
    }

    static let today = BusinessDate("2026-03-16")!
    static let clock = BusinessClock(fixedDate: today)

    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Polls `condition` until it holds or `seconds` pass. The default is generous: the whole
    /// suite runs at once on two cores, and a saga of several event hops can take longer than 30 s
    /// there; a condition that holds returns at once.
    static func eventually(seconds: Double = 90, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    /// Every message on `topic` (from the beginning) that satisfies `filter`, read by a fresh group
    /// until `count` match or the time is up.
    /// How many events the records carry: delivery is at least once, so a relay may publish a
    /// record again, and copies share their CloudEvents id.
    static func distinctEvents(_ records: [KafkaMessage]) -> Int {
        Set(records.compactMap { try? CloudEventCoding.header(from: $0.value).id }).count
    }

    static func read(
        topic: String, count: Int, seconds: Double = 30, brokers: String = brokers,
        where filter: (KafkaMessage) -> Bool
    ) async throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(
            configuration: .consumer(brokers: brokers, groupID: unique("reader"), clientID: "test-reader"),
            topics: [topic], logger: logger)
        var matched: [KafkaMessage] = []
        let deadline = Date().addingTimeInterval(seconds)
        while matched.count < count, Date() < deadline {
            matched += try await consumer.poll(maxMessages: 500, timeoutMs: 200).filter(filter)
        }
        await consumer.close()
        return matched
    }

    /// The dead letters that satisfy `filter`, one per letter, read from the beginning until
    /// `count` distinct ones are found or the time is up: a relay may publish a letter twice
    /// (delivery is at least once; a loaded CI run did), and copies share their CloudEvents id.
    static func deadLetters(count: Int, seconds: Double = 90, where filter: (DeadLetter) -> Bool) async throws -> [DeadLetter] {
        var seen: Set<String> = []
        return try await read(topic: Topic.deadLetter.name, count: count, seconds: seconds) { message in
            guard let letter = try? CloudEventCoding.decode(DeadLetter.self, from: message.value), filter(letter.data) else { return false }
            return seen.insert(letter.id).inserted
        }.map { try CloudEventCoding.decode(DeadLetter.self, from: $0.value).data }
    }

    /// The headers with which `service` signs `value` on `topic` (its development event key): a
    /// test that writes a record in a service's name must sign it, as the service's relay does.
    static func signed(as service: String, topic: String, _ value: [UInt8]) throws -> [KafkaHeader] {
        try EventSignature.fields(
            topic: topic, value: value, keyId: EventSignature.developmentKeyId(service: service),
            key: EventSignature.developmentKey(service: service)
        ).map { KafkaHeader(name: $0.key, value: $0.value) }
    }

    /// Runs `body` against a service's schema as that service's role (or as the schema's owner).
    static func withDatabase<T: Sendable>(of descriptor: ServiceDescriptor, asOwner: Bool = false, _ body: (Database) async throws -> T) async throws -> T {
        var config = config(descriptor)
        if asOwner {
            config.pgUser = config.pgOwnerUser
            config.pgPassword = config.pgOwnerPassword
        }
        let database = try Database(config: config, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }

    /// Runs `body` with a runtime of `descriptor`'s service on the test stack's configuration and
    /// clock, its schema migrated (`ServiceRuntime.whileMigrated`).
    static func withMigratedRuntime(_ descriptor: ServiceDescriptor, _ body: (ServiceRuntime) async throws -> Void) async throws {
        try await ServiceRuntime(descriptor: descriptor, config: config(descriptor), clock: clock).whileMigrated(body)
    }

    /// A resident ID number nobody else in this test process has: the suite enrols hundreds of
    /// people into one database, and random serials collided (a birthday-paradox `already_enrolled`
    /// in a CI run). Sequences ending in 1 or 2 stay free for the explicit `serial:` form.
    static func newResidentID(county: String = "320706", birth: String, male: Bool) -> String {
        let n = PersonSerials.shared.next()
        let lastDigit = (male ? [3, 5, 7, 9] : [4, 6, 8, 0])[(n / 100) % 4]
        return residentID(county: county, birth: birth, sequence: (n % 100) * 10 + lastDigit)
    }

    /// A valid resident ID number (correct check character) for a birth date and a serial.
    static func residentID(county: String = "320706", birth: String, serial: Int, male: Bool) -> String {
        residentID(county: county, birth: birth, sequence: serial % 100 * 10 + (male ? 1 : 2))
    }

    private static func residentID(county: String, birth: String, sequence: Int) -> String {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let checks = Array("10X98765432")
        let body = county + birth.replacingOccurrences(of: "-", with: "") + String(format: "%03d", sequence % 1000)
        let sum = zip(body.map { Int(String($0))! }, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return body + String(checks[sum % 11])
    }
}

/// Hands out serials in turn from a random start, so two runs against one database rarely meet
/// and one run never repeats itself (400 people per birth date, county and sex).
final class PersonSerials: @unchecked Sendable {
    static let shared = PersonSerials()
    private let lock = NSLock()
    private var value = Int.random(in: 0..<400)
    func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value % 400
    }
}

/// A flag one task sets (a task has ended, a step was reached) and another polls.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
