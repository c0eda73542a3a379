import Foundation
import Policy

/// What a service needs to know about its surroundings, read from environment variables with
/// the defaults of CONTRACT.md, so each service can be deployed and pointed on its own.
///
/// | variable | default |
/// |---|---|
/// | HPF_HTTP_HOST / HPF_HTTP_PORT | 127.0.0.1 / the service's contract port |
/// | HPF_KAFKA_BROKERS | 127.0.0.1:9092 |
/// | HPF_PG_HOST / HPF_PG_PORT / HPF_PG_DATABASE | 127.0.0.1 / 55432 / hpf |
/// | HPF_PG_USER / HPF_PG_PASSWORD | the service's own role (dev password = role name) |
/// | HPF_PG_MAX_CONNECTIONS | 20 (the service's pool; mind Postgres' max_connections across services) |
/// | HPF_CONSUMER_GROUP | hpf.<service> |
/// | HPF_TOPIC_PARTITIONS | 3 |
/// | HPF_STAFF_TOKEN | dev-staff-token (set a real secret in production) |
/// | HPF_PERSON_KEY_SECRET | a dev secret (set a real secret in production) |
/// | HPF_PARTNER_KEY_ID / HPF_PARTNER_SIGNING_KEY | lyg-dev-1 / a dev key (base64 raw Ed25519 private key; set a real one in production) |
/// | HPF_BUSINESS_DATE | unset = today in Asia/Shanghai; a fixed YYYY-MM-DD for demos and tests |
/// | HPF_LOG_LEVEL / HPF_LOG_FORMAT | info / json (or text) |
public struct ServiceConfig: Sendable {
    public var serviceName: String
    public var schema: String
    public var httpHost: String
    public var httpPort: Int
    public var kafkaBrokers: String
    public var pgHost: String
    public var pgPort: Int
    public var pgDatabase: String
    public var pgUser: String
    public var pgPassword: String
    public var pgMaxConnections: Int
    public var consumerGroup: String
    public var topicPartitions: Int32
    public var staffToken: String
    public var personKeySecret: String
    public var fixedBusinessDate: BusinessDate?
    /// Our key for signing the partner feed (§17): its id, and the base64 raw private key (empty:
    /// the development key).
    public var partnerKeyId: String
    public var partnerSigningKey: String
    public var logLevel: String
    public var jsonLogs: Bool
    public var relayBatchSize: Int

    public init(descriptor: ServiceDescriptor, environment: [String: String] = ProcessInfo.processInfo.environment) {
        func value(_ key: String, _ fallback: String) -> String { environment[key].flatMap { $0.isEmpty ? nil : $0 } ?? fallback }
        serviceName = descriptor.name
        schema = descriptor.schema
        httpHost = value("HPF_HTTP_HOST", "127.0.0.1")
        httpPort = Int(value("HPF_HTTP_PORT", "\(descriptor.defaultPort)")) ?? descriptor.defaultPort
        kafkaBrokers = value("HPF_KAFKA_BROKERS", "127.0.0.1:9092")
        pgHost = value("HPF_PG_HOST", "127.0.0.1")
        pgPort = Int(value("HPF_PG_PORT", "55432")) ?? 55432
        pgDatabase = value("HPF_PG_DATABASE", "hpf")
        pgUser = value("HPF_PG_USER", descriptor.schema)
        pgPassword = value("HPF_PG_PASSWORD", pgUser)
        pgMaxConnections = max(2, Int(value("HPF_PG_MAX_CONNECTIONS", "20")) ?? 20)
        consumerGroup = value("HPF_CONSUMER_GROUP", "hpf.\(descriptor.name)")
        topicPartitions = Int32(value("HPF_TOPIC_PARTITIONS", "3")) ?? 3
        staffToken = value("HPF_STAFF_TOKEN", "dev-staff-token")
        personKeySecret = value("HPF_PERSON_KEY_SECRET", "dev-only-person-key-secret")
        fixedBusinessDate = environment["HPF_BUSINESS_DATE"].flatMap(BusinessDate.init)
        partnerKeyId = value("HPF_PARTNER_KEY_ID", "lyg-dev-1")
        partnerSigningKey = value("HPF_PARTNER_SIGNING_KEY", "")
        logLevel = value("HPF_LOG_LEVEL", "info")
        jsonLogs = value("HPF_LOG_FORMAT", "json") == "json"
        relayBatchSize = Int(value("HPF_RELAY_BATCH", "500")) ?? 500
    }
}

/// The fixed facts of one service: its name, schema, contract port, topic and migrations.
public struct ServiceDescriptor: Sendable {
    public let name: String
    public let schema: String
    public let defaultPort: Int
    public let migrations: [Migration]

    public init(name: String, schema: String, defaultPort: Int, migrations: [Migration]) {
        self.name = name
        self.schema = schema
        self.defaultPort = defaultPort
        self.migrations = migrations
    }

    public var eventSource: String { "/hpf/\(name)" }
}
