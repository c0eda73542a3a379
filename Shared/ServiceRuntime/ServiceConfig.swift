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
/// | HPF_ENV | production; `development` (local and test stacks) is the only mode accepting development keys |
/// | HPF_IDP_ISSUER / HPF_IDP_AUDIENCE | the identity provider's `iss` and our `aud` (required outside development) |
/// | HPF_IDP_JWKS / HPF_IDP_JWKS_FILE | the provider's public keys as a JSON Web Key Set (required outside development) |
/// | HPF_RATE_LIMIT_CITIZEN / HPF_RATE_LIMIT_ADDRESS | requests a minute per citizen / per client address [120 / 600] |
/// | HPF_HTTP_IDLE_TIMEOUT | seconds a connection may stay idle or half-sent [30] |
/// | HPF_METRICS_PUBLIC | true: /metrics open; false: staff only [true] |
/// | HPF_PERSON_KEY_SECRET | required outside development (at least 32 bytes); a public dev value in development |
/// | HPF_PARTNER_KEY_ID / HPF_PARTNER_SIGNING_KEY | lyg-dev-1 / base64 raw Ed25519 private key, required by regional-sync outside development (the development key only in development) |
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
    /// `development` or `production` (HPF_ENV).
    public var environment: String
    public var isDevelopment: Bool { environment == "development" }
    public var idpIssuer: String?
    public var idpAudience: String?
    /// The identity provider's JSON Web Key Set (from HPF_IDP_JWKS, or the file HPF_IDP_JWKS_FILE names).
    public var idpJWKS: String?
    public var citizenRateLimit: Int
    public var addressRateLimit: Int
    public var httpIdleTimeoutSeconds: Int
    public var metricsPublic: Bool
    /// Settings that did not parse: the service refuses to start with the first one.
    public var problems: [ConfigurationError] = []
    public var personKeySecret: String
    /// The public development value of HPF_PERSON_KEY_SECRET (accepted only in development).
    public static let developmentPersonKeySecret = "dev-only-person-key-secret"
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
        var problems: [ConfigurationError] = []
        func integer(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) -> Int {
            guard let text = environment[key], !text.isEmpty else { return fallback }
            guard let parsed = Int(text), range.contains(parsed) else {
                problems.append(ConfigurationError(variable: key, reason: "must be an integer in \(range.lowerBound)...\(range.upperBound), got \(text)"))
                return fallback
            }
            return parsed
        }
        self.environment = value("HPF_ENV", "production")
        if !["development", "production"].contains(self.environment) {
            problems.append(ConfigurationError(variable: "HPF_ENV", reason: "must be development or production, got \(self.environment)"))
        }
        idpIssuer = environment["HPF_IDP_ISSUER"].flatMap { $0.isEmpty ? nil : $0 }
        idpAudience = environment["HPF_IDP_AUDIENCE"].flatMap { $0.isEmpty ? nil : $0 }
        idpJWKS = environment["HPF_IDP_JWKS"].flatMap { $0.isEmpty ? nil : $0 }
        if idpJWKS == nil, let file = environment["HPF_IDP_JWKS_FILE"], !file.isEmpty {
            if let text = try? String(contentsOfFile: file, encoding: .utf8) { idpJWKS = text } else {
                problems.append(ConfigurationError(variable: "HPF_IDP_JWKS_FILE", reason: "names a file that cannot be read"))
            }
        }
        citizenRateLimit = integer("HPF_RATE_LIMIT_CITIZEN", 120, 0...1_000_000)
        addressRateLimit = integer("HPF_RATE_LIMIT_ADDRESS", 600, 0...1_000_000)
        httpIdleTimeoutSeconds = integer("HPF_HTTP_IDLE_TIMEOUT", 30, 1...3600)
        let metrics = value("HPF_METRICS_PUBLIC", "true")
        if !["true", "false"].contains(metrics) {
            problems.append(ConfigurationError(variable: "HPF_METRICS_PUBLIC", reason: "must be true or false, got \(metrics)"))
        }
        metricsPublic = metrics != "false"
        // The person key turns ID numbers into personRefs: with a public value anyone can reverse
        // them (an ID number has few enough candidates to try all). Only development may default it.
        let development = self.environment == "development"
        if let secret = environment["HPF_PERSON_KEY_SECRET"], !secret.isEmpty {
            if !development, secret == Self.developmentPersonKeySecret || secret.utf8.count < 32 {
                problems.append(ConfigurationError(variable: "HPF_PERSON_KEY_SECRET",
                                                   reason: "must be a secret of at least 32 bytes, not the development value"))
            }
            personKeySecret = secret
        } else {
            if !development {
                problems.append(ConfigurationError(variable: "HPF_PERSON_KEY_SECRET", reason: "is required outside development"))
            }
            personKeySecret = Self.developmentPersonKeySecret
        }
        fixedBusinessDate = environment["HPF_BUSINESS_DATE"].flatMap(BusinessDate.init)
        partnerKeyId = value("HPF_PARTNER_KEY_ID", "lyg-dev-1")
        partnerSigningKey = value("HPF_PARTNER_SIGNING_KEY", "")
        if !partnerSigningKey.isEmpty, Data(base64Encoded: partnerSigningKey)?.count != 32 {
            problems.append(ConfigurationError(variable: "HPF_PARTNER_SIGNING_KEY", reason: "is not a base64 raw 32-byte Ed25519 private key"))
        } else if descriptor.signsPartnerFeed, !development {
            let developmentKey = PartnerSignature.developmentKey(city: PolicyParameters.lianyungang2025.cityCode.value)
            if partnerSigningKey.isEmpty {
                problems.append(ConfigurationError(variable: "HPF_PARTNER_SIGNING_KEY", reason: "is required outside development"))
            } else if Data(base64Encoded: partnerSigningKey) == developmentKey.rawRepresentation {
                problems.append(ConfigurationError(variable: "HPF_PARTNER_SIGNING_KEY", reason: "is the public development key"))
            }
        }
        logLevel = value("HPF_LOG_LEVEL", "info")
        jsonLogs = value("HPF_LOG_FORMAT", "json") == "json"
        relayBatchSize = Int(value("HPF_RELAY_BATCH", "500")) ?? 500
        self.problems = problems
    }
}

/// The fixed facts of one service: its name, schema, contract port, topic and migrations.
public struct ServiceDescriptor: Sendable {
    public let name: String
    public let schema: String
    public let defaultPort: Int
    public let migrations: [Migration]
    /// The read model that says who holds each account (`account_number`, `person_ref`), for the
    /// object-level check of citizens' requests.
    public let accountOwners: String
    /// Whether the service signs the partner feed (then HPF_PARTNER_SIGNING_KEY is required outside development).
    public let signsPartnerFeed: Bool

    public init(name: String, schema: String, defaultPort: Int, migrations: [Migration], accountOwners: String = "accounts",
                signsPartnerFeed: Bool = false) {
        self.signsPartnerFeed = signsPartnerFeed
        self.name = name
        self.schema = schema
        self.defaultPort = defaultPort
        self.migrations = migrations
        self.accountOwners = accountOwners
    }

    public var eventSource: String { "/hpf/\(name)" }
}
