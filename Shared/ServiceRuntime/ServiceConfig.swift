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
/// | HPF_PG_USER / HPF_PG_PASSWORD | the service's own role; the password is required outside development (dev: the role name) |
/// | HPF_PG_OWNER_USER / HPF_PG_OWNER_PASSWORD | the schema owner's role, used only to migrate and grant; the service's role gets data rights only [<role>_owner; the password is required outside development (dev: the role name)] |
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
/// | HPF_PARTNER_DECRYPTION_KEY_ID / HPF_PARTNER_DECRYPTION_KEY | lyg-dev-enc-1 / base64 raw X25519 private key that opens the personal fields partners seal to us, required by regional-sync outside development (the development key only in development) |
/// | HPF_BUSINESS_DATE | unset = today in Asia/Shanghai; a fixed YYYY-MM-DD for demos and tests |
/// | HPF_LOG_LEVEL / HPF_LOG_FORMAT | info / json (or text) |
/// | HPF_EVENT_KEY_ID / HPF_EVENT_SIGNING_KEY | this service's key for signing every event it publishes (base64 raw Ed25519 private key), required outside development [<service>-dev-1 / the development key] |
/// | HPF_EVENT_KEYS | JSON list of {keyId, service, publicKey}: the keys accepted on the topics this service reads, required outside development [development: every service's development key too] |
/// | HPF_DATA_KEYS / HPF_DATA_KEY_ID | JSON list of {keyId, key (base64 of 32 bytes)} sealing personal data at rest (AES-256-GCM), and the id new values are sealed with (required when there are several keys); required outside development by enrolment and withdrawal [development: the public development key] |
/// | HPF_PG_CONNECT_TIMEOUT | seconds to reach Postgres at start [30]; refused authentication ends the service at once |
/// | HPF_PG_ACQUIRE_TIMEOUT | seconds a request or event waits for a pooled connection; then 503 with Retry-After (events wait and retry) [5] |
/// | HPF_READY_OUTBOX_LAG | seconds the oldest unpublished outbox event may wait before /ready answers 503 [60] |
/// | HPF_SHUTDOWN_TIMEOUT | seconds a graceful shutdown may take before the process exits anyway [30] |
/// | HPF_RELAY_BATCH | outbox records a relay round publishes at most [500] |
/// | HPF_KAFKA_LINGER_MS | milliseconds the producer gathers records into one batch per partition before sending [20] |
/// | HPF_KAFKA_SECURITY_PROTOCOL, HPF_KAFKA_SASL_*, HPF_KAFKA_*_FILE, HPF_TOPIC_REPLICATION_FACTOR, HPF_TOPIC_RETENTION_HOURS, HPF_PG_TLS, HPF_PG_CA_FILE | see `TransportSettings` |
///
/// Every value is parsed strictly (swift-configuration): one that does not parse or is out of
/// range stops the service at start with status 2 and a line naming the variable.
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
    /// The schema owner's role, for migrations only (HPF_PG_OWNER_USER / HPF_PG_OWNER_PASSWORD).
    public var pgOwnerUser: String
    public var pgOwnerPassword: String
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
    /// Our X25519 key for the personal fields partners seal to us (HPKE), and its key id.
    public var partnerDecryptionKeyId: String
    public var partnerDecryptionKey: String
    public var logLevel: String
    public var jsonLogs: Bool
    public var relayBatchSize: Int
    /// librdkafka's `linger.ms` for the service's producer (HPF_KAFKA_LINGER_MS): fewer, larger
    /// batches for up to about twice the linger more per event hop; no HTTP answer waits for it.
    public var kafkaLingerMs: Int
    /// This service's event signing key: its id, and the base64 raw Ed25519 private key (empty:
    /// the development key).
    public var eventKeyId: String
    public var eventSigningKey: String
    /// The accepted event keys, as HPF_EVENT_KEYS gives them (JSON; nil: none beyond development's).
    public var eventKeys: String?
    /// The keys sealing personal data at rest (HPF_DATA_KEYS, JSON; nil: the development key) and
    /// the one new values are sealed with (HPF_DATA_KEY_ID).
    public var dataKeys: String?
    public var dataKeyId: String?
    /// Seconds the Postgres connection may take at start before the service gives up (an
    /// authentication failure ends it at once).
    public var pgConnectTimeoutSeconds: Int
    /// Seconds a request or event waits for a pooled connection before it is answered 503 (or retried).
    public var pgAcquireTimeoutSeconds: Int
    /// Seconds the oldest unpublished outbox row may wait before `/ready` answers 503.
    public var readyOutboxLagSeconds: Int
    /// Seconds a graceful shutdown may take before the process ends anyway.
    public var shutdownTimeoutSeconds: Int
    /// SASL/TLS for Kafka, TLS for Postgres, topic replication and retention.
    public var transport: TransportSettings
    /// Every setting read and its effective value, secrets as `<redacted>` (logged at start).
    public var effectiveSettings: [String: String] = [:]
    /// Secrets that took their public development value (development only; warned at start).
    public var developmentValues: [String] = []

    public init(descriptor: ServiceDescriptor, environment: [String: String] = ProcessInfo.processInfo.environment) {
        var settings = SettingsReader(environment: environment)
        serviceName = descriptor.name
        schema = descriptor.schema
        self.environment = settings.text("HPF_ENV", default: "production", allowed: ["development", "production"])
        let development = self.environment == "development"
        httpHost = settings.text("HPF_HTTP_HOST", default: "127.0.0.1")
        httpPort = settings.integer("HPF_HTTP_PORT", default: descriptor.defaultPort, range: 0...65_535)
        kafkaBrokers = settings.text("HPF_KAFKA_BROKERS", default: "127.0.0.1:9092")
        if !Self.isBrokerList(kafkaBrokers) {
            settings.problem("HPF_KAFKA_BROKERS", "must be host:port[,host:port...], got \(kafkaBrokers)")
        }
        pgHost = settings.text("HPF_PG_HOST", default: "127.0.0.1")
        pgPort = settings.integer("HPF_PG_PORT", default: 55432, range: 1...65_535)
        pgDatabase = settings.text("HPF_PG_DATABASE", default: "hpf")
        pgUser = settings.text("HPF_PG_USER", default: descriptor.schema)
        pgMaxConnections = settings.integer("HPF_PG_MAX_CONNECTIONS", default: 20, range: 2...1_000)
        pgConnectTimeoutSeconds = settings.integer("HPF_PG_CONNECT_TIMEOUT", default: 30, range: 1...600)
        pgAcquireTimeoutSeconds = settings.integer("HPF_PG_ACQUIRE_TIMEOUT", default: 5, range: 1...300)
        readyOutboxLagSeconds = settings.integer("HPF_READY_OUTBOX_LAG", default: 60, range: 1...86_400)
        consumerGroup = settings.text("HPF_CONSUMER_GROUP", default: "hpf.\(descriptor.name)")
        topicPartitions = Int32(settings.integer("HPF_TOPIC_PARTITIONS", default: 3, range: 1...1_000))
        idpIssuer = settings.text("HPF_IDP_ISSUER")
        idpAudience = settings.text("HPF_IDP_AUDIENCE")
        idpJWKS = settings.text("HPF_IDP_JWKS")
        if idpJWKS == nil, let file = settings.text("HPF_IDP_JWKS_FILE") {
            if let text = try? String(contentsOfFile: file, encoding: .utf8) {
                idpJWKS = text
            } else {
                settings.problem("HPF_IDP_JWKS_FILE", "names a file that cannot be read")
            }
        }
        citizenRateLimit = settings.integer("HPF_RATE_LIMIT_CITIZEN", default: 120, range: 0...1_000_000)
        addressRateLimit = settings.integer("HPF_RATE_LIMIT_ADDRESS", default: 600, range: 0...1_000_000)
        httpIdleTimeoutSeconds = settings.integer("HPF_HTTP_IDLE_TIMEOUT", default: 30, range: 1...3_600)
        shutdownTimeoutSeconds = settings.integer("HPF_SHUTDOWN_TIMEOUT", default: 30, range: 1...600)
        metricsPublic = settings.flag("HPF_METRICS_PUBLIC", default: true)
        var developmentValues: [String] = []

        // Secrets. Outside development each is required, well-formed and not the public
        // development value; in development a missing one takes that value, named in the warning
        // the service logs once at start.
        pgPassword = settings.password("HPF_PG_PASSWORD", role: pgUser, development: development, defaulted: &developmentValues)
        // Migrations run as the schema's owner; the service itself as a role with data rights only.
        pgOwnerUser = settings.text("HPF_PG_OWNER_USER", default: "\(pgUser)_owner")
        if pgOwnerUser == pgUser {
            settings.problem("HPF_PG_OWNER_USER", "must differ from HPF_PG_USER: the service's own role may not change the schema")
        }
        pgOwnerPassword = settings.password("HPF_PG_OWNER_PASSWORD", role: pgOwnerUser, development: development, defaulted: &developmentValues)
        // The person key turns ID numbers into personRefs: with a public value anyone can reverse
        // them (an ID number has few enough candidates to try all).
        if let secret = settings.text("HPF_PERSON_KEY_SECRET", secret: true) {
            if !development, secret == Self.developmentPersonKeySecret || secret.utf8.count < 32 {
                settings.problem("HPF_PERSON_KEY_SECRET", "must be a secret of at least 32 bytes, not the development value")
            }
            personKeySecret = secret
        } else {
            if !development { settings.problem("HPF_PERSON_KEY_SECRET", "is required outside development") }
            developmentValues.append("HPF_PERSON_KEY_SECRET")
            personKeySecret = Self.developmentPersonKeySecret
        }
        partnerKeyId = settings.text("HPF_PARTNER_KEY_ID", default: "lyg-dev-1")
        partnerSigningKey = settings.text("HPF_PARTNER_SIGNING_KEY", secret: true) ?? ""
        if !partnerSigningKey.isEmpty, Data(base64Encoded: partnerSigningKey)?.count != 32 {
            settings.problem("HPF_PARTNER_SIGNING_KEY", "is not a base64 raw 32-byte Ed25519 private key")
        } else if descriptor.signsPartnerFeed {
            let developmentKey = PartnerSignature.developmentKey(city: PolicyParameters.lianyungang2025.cityCode.value)
            if partnerSigningKey.isEmpty {
                if !development { settings.problem("HPF_PARTNER_SIGNING_KEY", "is required outside development") }
                developmentValues.append("HPF_PARTNER_SIGNING_KEY")
            } else if !development, Data(base64Encoded: partnerSigningKey) == developmentKey.rawRepresentation {
                settings.problem("HPF_PARTNER_SIGNING_KEY", "is the public development key")
            }
        }
        partnerDecryptionKeyId = settings.text("HPF_PARTNER_DECRYPTION_KEY_ID", default: "lyg-dev-enc-1")
        partnerDecryptionKey = settings.text("HPF_PARTNER_DECRYPTION_KEY", secret: true) ?? ""
        if !partnerDecryptionKey.isEmpty, Data(base64Encoded: partnerDecryptionKey)?.count != 32 {
            settings.problem("HPF_PARTNER_DECRYPTION_KEY", "is not a base64 raw 32-byte X25519 private key")
        } else if descriptor.signsPartnerFeed {
            let developmentKey = PartnerSealing.developmentKey(city: PolicyParameters.lianyungang2025.cityCode.value)
            if partnerDecryptionKey.isEmpty {
                if !development { settings.problem("HPF_PARTNER_DECRYPTION_KEY", "is required outside development") }
                developmentValues.append("HPF_PARTNER_DECRYPTION_KEY")
            } else if !development, Data(base64Encoded: partnerDecryptionKey) == developmentKey.rawRepresentation {
                settings.problem("HPF_PARTNER_DECRYPTION_KEY", "is the public development key")
            }
        }
        // The identity provider: required outside development, its keys well-formed and none of
        // them a public development key (checked here so that the refusal is the only line).
        if let jwks = idpJWKS {
            settings.checkKeys(
                "HPF_IDP_JWKS", jwks, development: development, unreadable: "is not a JSON Web Key Set",
                parse: IdentityProvider.keys(fromJWKS:), isDevelopmentKey: DevelopmentIdentity.isDevelopmentKey)
        } else if !development {
            settings.problem("HPF_IDP_JWKS", "is required outside development (or HPF_IDP_JWKS_FILE)")
        } else {
            developmentValues.append("HPF_IDP_JWKS")
        }
        if !development {
            if idpIssuer == nil { settings.problem("HPF_IDP_ISSUER", "is required outside development") }
            if idpAudience == nil { settings.problem("HPF_IDP_AUDIENCE", "is required outside development") }
        }

        // Event keys (every topic is signed by its writer): this service's signing key, and the
        // public keys of every service whose topics it reads.
        eventKeyId = settings.text("HPF_EVENT_KEY_ID", default: EventSignature.developmentKeyId(service: descriptor.name))
        eventSigningKey = settings.text("HPF_EVENT_SIGNING_KEY", secret: true) ?? ""
        if !eventSigningKey.isEmpty {
            if Data(base64Encoded: eventSigningKey)?.count != 32 {
                settings.problem("HPF_EVENT_SIGNING_KEY", "is not a base64 raw 32-byte Ed25519 private key")
            } else if !development, Data(base64Encoded: eventSigningKey) == EventSignature.developmentKey(service: descriptor.name).rawRepresentation {
                settings.problem("HPF_EVENT_SIGNING_KEY", "is the public development key")
            }
        } else if !development {
            settings.problem("HPF_EVENT_SIGNING_KEY", "is required outside development")
        } else {
            developmentValues.append("HPF_EVENT_SIGNING_KEY")
        }
        eventKeys = settings.text("HPF_EVENT_KEYS")
        if let json = eventKeys {
            settings.checkKeys(
                "HPF_EVENT_KEYS", json, development: development, unreadable: "cannot be read",
                parse: EventKeyring.parse, isDevelopmentKey: { EventSignature.isDevelopmentKey($0.key) })
        } else if !development {
            settings.problem("HPF_EVENT_KEYS", "is required outside development (the public keys of the services whose topics this one reads)")
        }

        // Personal data at rest: the services that keep it need their own keys outside development.
        dataKeys = settings.text("HPF_DATA_KEYS", secret: true)
        dataKeyId = settings.text("HPF_DATA_KEY_ID")
        if let json = dataKeys {
            do {
                let keys = try PersonalDataCipher.parseKeys(json)
                if let current = dataKeyId, keys[current] == nil {
                    settings.problem("HPF_DATA_KEY_ID", "names key \(current), which HPF_DATA_KEYS does not hold")
                } else if dataKeyId == nil, keys.count > 1 {
                    settings.problem("HPF_DATA_KEY_ID", "is required when HPF_DATA_KEYS holds several keys (the one new values are sealed with)")
                }
                if !development, keys[PersonalDataCipher.developmentKeyId] != nil {
                    settings.problem("HPF_DATA_KEYS", "holds the public development key")
                }
            } catch {
                settings.problem(error.variable, error.reason)
            }
        } else if descriptor.keepsPersonalData {
            if !development { settings.problem("HPF_DATA_KEYS", "is required outside development (the keys sealing personal data at rest)") }
            developmentValues.append("HPF_DATA_KEYS")
        }

        fixedBusinessDate = settings.parsed("HPF_BUSINESS_DATE", "a date YYYY-MM-DD", BusinessDate.init)
        logLevel = settings.text("HPF_LOG_LEVEL", default: "info", allowed: ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        jsonLogs = settings.text("HPF_LOG_FORMAT", default: "json", allowed: ["json", "text"]) == "json"
        relayBatchSize = settings.integer("HPF_RELAY_BATCH", default: 500, range: 1...10_000)
        kafkaLingerMs = settings.integer("HPF_KAFKA_LINGER_MS", default: 20, range: 0...100)
        transport = TransportSettings(&settings)
        self.developmentValues = development ? developmentValues : []
        effectiveSettings = settings.effective
        problems = settings.problems
    }

    /// `host:port` pairs separated by commas.
    static func isBrokerList(_ text: String) -> Bool {
        text.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { pair in
            guard let colon = pair.lastIndex(of: ":"), let port = Int(pair[pair.index(after: colon)...]), (1...65_535).contains(port) else { return false }
            return !pair[..<colon].trimmingCharacters(in: .whitespaces).isEmpty
        }
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
    /// Tables the service may only add to: its role gets no UPDATE or DELETE on them.
    public let appendOnlyTables: [String]
    /// The columns holding personal data, sealed at rest (then HPF_DATA_KEYS is required outside development).
    public let sealedColumns: [SealedColumn]
    public var keepsPersonalData: Bool { !sealedColumns.isEmpty }

    public init(
        name: String, schema: String, defaultPort: Int, migrations: [Migration], accountOwners: String = "accounts",
        signsPartnerFeed: Bool = false, appendOnlyTables: [String] = [], sealedColumns: [SealedColumn] = []
    ) {
        self.signsPartnerFeed = signsPartnerFeed
        self.sealedColumns = sealedColumns
        self.appendOnlyTables = appendOnlyTables
        self.name = name
        self.schema = schema
        self.defaultPort = defaultPort
        self.migrations = migrations
        self.accountOwners = accountOwners
    }

    public var eventSource: String { "/hpf/\(name)" }
}
