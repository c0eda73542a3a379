import Foundation
import Kafka
import PostgresNIO

/// How a service reaches Kafka and Postgres on a network it does not trust: SASL (SCRAM or
/// PLAIN) and TLS for the broker, TLS for Postgres, and the replication factor and retention of
/// the topics it creates. The defaults suit the local and test stacks (plaintext on loopback);
/// outside development the service warns at start when either link is not encrypted.
///
/// | variable | default |
/// |---|---|
/// | HPF_KAFKA_SECURITY_PROTOCOL | plaintext (or ssl, sasl_plaintext, sasl_ssl) |
/// | HPF_KAFKA_SASL_MECHANISM | SCRAM-SHA-512 (or SCRAM-SHA-256, PLAIN) |
/// | HPF_KAFKA_SASL_USERNAME / HPF_KAFKA_SASL_PASSWORD | required with sasl_* |
/// | HPF_KAFKA_CA_FILE | the system store (PEM bundle of the brokers' CA) |
/// | HPF_KAFKA_CERT_FILE / HPF_KAFKA_KEY_FILE | none (client certificate for mutual TLS: both or neither) |
/// | HPF_KAFKA_VERIFY_HOSTNAME | true |
/// | HPF_TOPIC_REPLICATION_FACTOR | 1 (3 on a real cluster) |
/// | HPF_TOPIC_RETENTION_HOURS | unset: the broker's default |
/// | HPF_PG_TLS | disable (or require, verify-full) |
/// | HPF_PG_CA_FILE | the system trust roots (PEM CA for verify-full) |
public struct TransportSettings: Sendable {
    public var kafkaSecurity: String = "plaintext"
    public var saslMechanism: String = "SCRAM-SHA-512"
    public var saslUsername: String?
    public var saslPassword: String?
    public var kafkaCAFile: String?
    public var kafkaCertFile: String?
    public var kafkaKeyFile: String?
    public var kafkaVerifyHostname = true
    public var topicReplicationFactor: Int32 = 1
    public var topicRetentionHours: Int?
    public var postgresTLS: String = "disable"
    public var postgresCAFile: String?

    public init() {}

    init(_ settings: inout SettingsReader) {
        kafkaSecurity = settings.text(
            "HPF_KAFKA_SECURITY_PROTOCOL", default: "plaintext",
            allowed: ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"])
        saslMechanism = settings.text("HPF_KAFKA_SASL_MECHANISM", default: "SCRAM-SHA-512", allowed: ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])
        saslUsername = settings.text("HPF_KAFKA_SASL_USERNAME")
        saslPassword = settings.text("HPF_KAFKA_SASL_PASSWORD", secret: true)
        if kafkaSecurity.hasPrefix("sasl_") {
            if saslUsername == nil { settings.problem("HPF_KAFKA_SASL_USERNAME", "is required with HPF_KAFKA_SECURITY_PROTOCOL=\(kafkaSecurity)") }
            if saslPassword == nil { settings.problem("HPF_KAFKA_SASL_PASSWORD", "is required with HPF_KAFKA_SECURITY_PROTOCOL=\(kafkaSecurity)") }
        }
        kafkaCAFile = Self.readableFile(&settings, "HPF_KAFKA_CA_FILE")
        kafkaCertFile = Self.readableFile(&settings, "HPF_KAFKA_CERT_FILE")
        kafkaKeyFile = Self.readableFile(&settings, "HPF_KAFKA_KEY_FILE")
        if (kafkaCertFile == nil) != (kafkaKeyFile == nil) {
            settings.problem(
                kafkaCertFile == nil ? "HPF_KAFKA_CERT_FILE" : "HPF_KAFKA_KEY_FILE",
                "a client certificate needs both HPF_KAFKA_CERT_FILE and HPF_KAFKA_KEY_FILE")
        }
        if !kafkaEncrypted, kafkaCAFile != nil || kafkaCertFile != nil {
            settings.problem("HPF_KAFKA_SECURITY_PROTOCOL", "is \(kafkaSecurity), but TLS files are given (use ssl or sasl_ssl)")
        }
        kafkaVerifyHostname = settings.flag("HPF_KAFKA_VERIFY_HOSTNAME", default: true)
        topicReplicationFactor = Int32(settings.integer("HPF_TOPIC_REPLICATION_FACTOR", default: 1, range: 1...32))
        if settings.isSet("HPF_TOPIC_RETENTION_HOURS") {
            topicRetentionHours = settings.integer("HPF_TOPIC_RETENTION_HOURS", default: 168, range: 1...876_000)
        }
        postgresTLS = settings.text("HPF_PG_TLS", default: "disable", allowed: ["disable", "require", "verify-full"])
        postgresCAFile = Self.readableFile(&settings, "HPF_PG_CA_FILE")
        if postgresCAFile != nil, postgresTLS != "verify-full" {
            settings.problem("HPF_PG_CA_FILE", "is used only with HPF_PG_TLS=verify-full")
        }
    }

    public var kafkaEncrypted: Bool { kafkaSecurity == "ssl" || kafkaSecurity == "sasl_ssl" }

    /// What a security review asks first; logged as a warning at start outside development.
    public var unencryptedLinks: [String] {
        (kafkaEncrypted ? [] : ["kafka (\(kafkaSecurity))"]) + (postgresTLS == "disable" ? ["postgres (HPF_PG_TLS=disable)"] : [])
    }

    /// The librdkafka properties for these settings, added to every client the service makes.
    public func apply(to configuration: KafkaConfiguration) -> KafkaConfiguration {
        var properties = configuration.properties
        properties["security.protocol"] = kafkaSecurity
        if kafkaSecurity.hasPrefix("sasl_") {
            properties["sasl.mechanisms"] = saslMechanism
            properties["sasl.username"] = saslUsername
            properties["sasl.password"] = saslPassword
        }
        if kafkaEncrypted {
            properties["ssl.ca.location"] = kafkaCAFile
            properties["ssl.certificate.location"] = kafkaCertFile
            properties["ssl.key.location"] = kafkaKeyFile
            properties["ssl.endpoint.identification.algorithm"] = kafkaVerifyHostname ? "https" : "none"
        }
        return KafkaConfiguration(properties)
    }

    /// The configuration of every topic the service creates.
    public var topicConfigs: [String: String] {
        topicRetentionHours.map { ["retention.ms": String($0 * 3_600_000)] } ?? [:]
    }

    /// Postgres TLS: `require` encrypts without checking who answers (a first step on a private
    /// network); `verify-full` checks the server's certificate and name against the CA.
    public func postgresTLSConfiguration() throws -> TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch postgresTLS {
        case "require":
            tls.certificateVerification = .none
        case "verify-full":
            tls.certificateVerification = .fullVerification
            if let file = postgresCAFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file)) }
        default:
            return nil
        }
        return tls
    }

    /// For the pool.
    public func postgresClientTLS() throws -> PostgresClient.Configuration.TLS {
        try postgresTLSConfiguration().map { .require($0) } ?? .disable
    }

    /// For the single connections of the preflight and the migrator.
    public func postgresConnectionTLS() throws -> PostgresConnection.Configuration.TLS {
        try postgresTLSConfiguration().map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
    }

    private static func readableFile(_ settings: inout SettingsReader, _ variable: String) -> String? {
        guard let path = settings.text(variable) else { return nil }
        if !FileManager.default.isReadableFile(atPath: path) { settings.problem(variable, "names a file that cannot be read") }
        return path
    }
}

extension TransportSettings: CustomStringConvertible {
    /// Never the SASL password, whoever logs the settings.
    public var description: String {
        "TransportSettings(kafka: \(kafkaSecurity)\(kafkaSecurity.hasPrefix("sasl_") ? " \(saslMechanism) as \(saslUsername ?? "-")" : ""), "
            + "postgres TLS: \(postgresTLS), replication: \(topicReplicationFactor), retention hours: \(topicRetentionHours.map(String.init) ?? "broker default"))"
    }
}

extension TransportSettings {
    /// The broker and Postgres link settings from `environment`, read and checked as a service
    /// reads them: for a tool that talks to the same broker (hpfctl). The first problem is thrown.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TransportSettings {
        var reader = SettingsReader(environment: environment)
        let settings = TransportSettings(&reader)
        if let problem = reader.problems.first { throw problem }
        return settings
    }
}
