import Crypto
import Foundation
import PostgresNIO
import ServiceRuntime
import Testing
import Withdrawal

/// Personal data at rest: sealed values open only with their key, column and row; keys rotate by
/// adding; the re-encryption run reseals old and clear values (on a probe table of its own, so
/// the shared test schema keeps its development key).
@Suite("Personal data sealed at rest")
struct PersonalDataTests {
    static func key() -> (SymmetricKey, String) {
        let key = SymmetricKey(size: .bits256)
        return (key, key.withUnsafeBytes { Data($0) }.base64EncodedString())
    }

    @Test("a sealed value opens only with its key, for its column and row")
    func sealAndOpen() throws {
        let cipher = PersonalDataCipher.development
        let column = SealedColumn(table: "accounts", column: "name", rowKey: "account_number")
        let sealed = try cipher.seal("张伟", column, row: "3207000000000001")
        #expect(sealed.hasPrefix("pd1:\(PersonalDataCipher.developmentKeyId):") && !sealed.contains("张伟"))
        #expect(try cipher.open(sealed, column, row: "3207000000000001") == "张伟")
        #expect(try cipher.seal("张伟", column, row: "3207000000000001") != sealed, "a fresh nonce each time")
        // Copied to another row or column, or tampered with, it does not open.
        #expect(throws: PersonalDataError.self) { try cipher.open(sealed, column, row: "3207000000000002") }
        #expect(throws: PersonalDataError.self) {
            try cipher.open(sealed, SealedColumn(table: "accounts", column: "phone", rowKey: "account_number"), row: "3207000000000001")
        }
        // (A character in the middle: the last ones before '=' padding carry unused bits.)
        var tampered = Array(sealed)
        let middle = sealed.count - 12
        tampered[middle] = tampered[middle] == "A" ? "B" : "A"
        #expect(throws: PersonalDataError.self) { try cipher.open(String(tampered), column, row: "3207000000000001") }
        #expect(throws: PersonalDataError.self) { try cipher.open("张伟", column, row: "3207000000000001") }
        // Another key does not open it, and a value sealed with an unknown key says which.
        let (other, _) = Self.key()
        let stranger = try PersonalDataCipher(currentKeyId: "pd-2", keys: ["pd-2": other])
        #expect(throws: PersonalDataError.self) { try stranger.open(sealed, column, row: "3207000000000001") }
    }

    @Test("keys rotate by adding: the old key still opens, new values take the new one")
    func rotation() throws {
        let (old, oldText) = Self.key()
        let (_, newText) = Self.key()
        let column = SealedColumn(table: "withdrawals", column: "payee", rowKey: "withdrawal_id", json: true)
        let before = try PersonalDataCipher(currentKeyId: "pd-1", keys: ["pd-1": old]).seal("6222020200112233445", column, row: "w1")
        let keys = try PersonalDataCipher.parseKeys(#"[{"keyId":"pd-1","key":"\#(oldText)"},{"keyId":"pd-2","key":"\#(newText)"}]"#)
        let after = try PersonalDataCipher(currentKeyId: "pd-2", keys: keys)
        #expect(try after.open(before, column, row: "w1") == "6222020200112233445")
        let fresh = try after.seal("x", column, row: "w1")
        #expect(after.needsResealing(before) && !after.needsResealing(fresh))
        #expect(PersonalDataCipher.keyId(of: try after.seal("x", column, row: "w1")) == "pd-2")
    }

    @Test(
        "keys are refused when malformed, public or missing outside development",
        arguments: [
            (#"[]"#, "HPF_DATA_KEYS"), (#"[{"keyId":"a:b","key":"AAAA"}]"#, "HPF_DATA_KEYS"), (#"[{"keyId":"pd-1","key":"c2hvcnQ="}]"#, "HPF_DATA_KEYS"),
            (#"[{"keyId":"pd-1","key":"\#(PersonalDataCipher.developmentKey.withUnsafeBytes { Data($0) }.base64EncodedString())"}]"#, "HPF_DATA_KEYS"),
            ("", "HPF_DATA_KEYS"),
        ])
    func refusedKeys(json: String, variable: String) {
        var environment = ["HPF_ENV": "production"]
        if !json.isEmpty { environment["HPF_DATA_KEYS"] = json }
        let config = ServiceConfig(descriptor: WithdrawalService.descriptor, environment: environment)
        #expect(config.problems.contains { $0.variable == variable }, "\(config.problems)")
        #expect(!config.effectiveSettings.values.contains { $0.contains(json) && !json.isEmpty }, "the keys are redacted")
    }

    @Test("several keys need the current one named; one key is current even in development")
    func currentKeyNamed() throws {
        let keys = #"[{"keyId":"pd-1","key":"\#(Self.key().1)"},{"keyId":"pd-2","key":"\#(Self.key().1)"}]"#
        let unnamed = ServiceConfig(descriptor: WithdrawalService.descriptor, environment: ["HPF_ENV": "development", "HPF_DATA_KEYS": keys])
        #expect(unnamed.problems.contains { $0.variable == "HPF_DATA_KEY_ID" })
        let named = ServiceConfig(
            descriptor: WithdrawalService.descriptor,
            environment: ["HPF_ENV": "development", "HPF_DATA_KEYS": keys, "HPF_DATA_KEY_ID": "pd-2"])
        #expect(!named.problems.contains { $0.variable.hasPrefix("HPF_DATA_") })
        let current = try PersonalDataCipher.configured(named).currentKeyId
        #expect(current == "pd-2")
        let single = ServiceConfig(
            descriptor: WithdrawalService.descriptor,
            environment: ["HPF_ENV": "development", "HPF_DATA_KEYS": #"[{"keyId":"pd-2026-1","key":"\#(Self.key().1)"}]"#])
        let only = try PersonalDataCipher.configured(single).currentKeyId
        #expect(only == "pd-2026-1", "never the development key beside it")
    }

    @Test("the re-encryption run reseals clear and old-key values, only those, and leaves nothing behind")
    func resealing() async throws {
        let table = "reseal_probe_\(UUID().uuidString.prefix(8).lowercased())"
        let text = SealedColumn(table: table, column: "secret", rowKey: "id")
        let document = SealedColumn(table: table, column: "doc", rowKey: "id", json: true)
        let old = PersonalDataCipher.development
        let (newKey, _) = Self.key()
        let new = try PersonalDataCipher(
            currentKeyId: "pd-new", keys: ["pd-new": newKey, PersonalDataCipher.developmentKeyId: PersonalDataCipher.developmentKey])
        try await TestStack.withDatabase(of: WithdrawalService.descriptor, asOwner: true) { db in
            // Under the schema's migration lock: a service starting beside this test grants on every
            // table of the schema, and a table created or dropped at that moment failed the test once.
            @Sendable func ddl(_ statement: PostgresQuery) async throws {
                try await db.transaction { connection in
                    try await connection.query(
                        "SELECT pg_advisory_xact_lock(hashtext(\(WithdrawalService.descriptor.schema)))", logger: TestStack.logger)
                    try await connection.query(statement, logger: TestStack.logger)
                }
            }
            try await ddl("CREATE TABLE \(unescaped: table) (id text PRIMARY KEY, secret text, doc jsonb)")
            // Row a: written before sealing existed; b: sealed with the old key; c: already current; d: no value.
            let payee = #"{"kind":"holder","name":"张伟","bankAccount":"6222000011112222"}"#
            try await db.query("INSERT INTO \(unescaped: table) VALUES ('a', '13912345678', \(payee)::jsonb)")
            try await db.query(
                """
                INSERT INTO \(unescaped: table) VALUES ('b', \(try old.seal("13800000000", text, row: "b")), to_jsonb(\(try old.seal(payee, document, row: "b"))::text))
                """)
            try await db.query(
                """
                INSERT INTO \(unescaped: table) VALUES ('c', \(try new.seal("13700000000", text, row: "c")), to_jsonb(\(try new.seal(payee, document, row: "c"))::text))
                """)
            try await db.query("INSERT INTO \(unescaped: table) VALUES ('d', NULL, NULL)")

            let clearOnly = try await PersonalDataResealing.run(
                columns: [text, document], cipher: new, database: db, logger: TestStack.logger,
                onlyClear: true, batchSize: 2)
            #expect(clearOnly.total == 2, "only row a's two clear values: \(clearOnly)")
            let report = try await PersonalDataResealing.run(columns: [text, document], cipher: new, database: db, logger: TestStack.logger, batchSize: 2)
            #expect(report.resealed["\(table).secret"] == 1 && report.resealed["\(table).doc"] == 1, "row b only: \(report)")
            #expect(try await PersonalDataResealing.run(columns: [text, document], cipher: new, database: db, logger: TestStack.logger).total == 0)

            var rows: [String: (String?, String?)] = [:]
            for try await (id, secret, doc) in try await db.query("SELECT id, secret, doc #>> '{}' FROM \(unescaped: table)").decode(
                (String, String?, String?).self)
            {
                rows[id] = (secret, doc)
            }
            #expect(try new.open(rows["a"]?.0, text, row: "a") == "13912345678")
            #expect(try new.open(rows["b"]?.0, text, row: "b") == "13800000000")
            #expect(try new.open(rows["c"]?.0, text, row: "c") == "13700000000")
            for id in ["a", "b", "c"] {
                #expect(PersonalDataCipher.keyId(of: rows[id]?.0 ?? "") == "pd-new" && PersonalDataCipher.keyId(of: rows[id]?.1 ?? "") == "pd-new")
                let opened = try new.open(rows[id]?.1 ?? "", document, row: id)
                #expect(
                    try JSONSerialization.jsonObject(with: Data(opened.utf8)) as? [String: String] == [
                        "kind": "holder", "name": "张伟", "bankAccount": "6222000011112222",
                    ])
            }
            #expect(rows["d"]?.0 == nil && rows["d"]?.1 == nil)
            try await ddl("DROP TABLE \(unescaped: table)")
        }
    }
}

/// SASL/TLS and topic settings: parsed strictly, turned into librdkafka properties and topic configs.
@Suite("Transport settings")
struct TransportSettingsTests {
    @Test("SASL over TLS becomes librdkafka properties; topics get replication and retention")
    func saslSSL() throws {
        let ca = FileManager.default.temporaryDirectory.appendingPathComponent("hpf-ca-\(UUID().uuidString).pem")
        try Data("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".utf8).write(to: ca)
        defer { try? FileManager.default.removeItem(at: ca) }
        let config = ServiceConfig(
            descriptor: WithdrawalService.descriptor,
            environment: [
                "HPF_ENV": "development", "HPF_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "HPF_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
                "HPF_KAFKA_SASL_USERNAME": "withdrawal", "HPF_KAFKA_SASL_PASSWORD": "s3cret-sasl", "HPF_KAFKA_CA_FILE": ca.path,
                "HPF_TOPIC_REPLICATION_FACTOR": "3", "HPF_TOPIC_RETENTION_HOURS": "720",
            ])
        #expect(config.problems.isEmpty, "\(config.problems)")
        let properties = config.transport.apply(to: .producer(brokers: "b:9093", clientID: "x")).properties
        #expect(properties["security.protocol"] == "sasl_ssl" && properties["sasl.mechanisms"] == "SCRAM-SHA-256")
        #expect(properties["sasl.username"] == "withdrawal" && properties["sasl.password"] == "s3cret-sasl")
        #expect(properties["ssl.ca.location"] == ca.path && properties["ssl.endpoint.identification.algorithm"] == "https")
        #expect(config.transport.topicReplicationFactor == 3 && config.transport.topicConfigs == ["retention.ms": "2592000000"])
        #expect(config.effectiveSettings["HPF_KAFKA_SASL_PASSWORD"] == "<redacted>")
        #expect(config.transport.unencryptedLinks == ["postgres (HPF_PG_TLS=disable)"])
    }

    @Test(
        "inconsistent transport settings are refused, naming the variable",
        arguments: [
            (["HPF_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "HPF_KAFKA_SASL_PASSWORD": "p"], "HPF_KAFKA_SASL_USERNAME"),
            (["HPF_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "HPF_KAFKA_SASL_USERNAME": "u"], "HPF_KAFKA_SASL_PASSWORD"),
            (["HPF_KAFKA_SASL_MECHANISM": "GSSAPI"], "HPF_KAFKA_SASL_MECHANISM"),
            (["HPF_KAFKA_SECURITY_PROTOCOL": "ssl", "HPF_KAFKA_CERT_FILE": "/etc/hostname"], "HPF_KAFKA_KEY_FILE"),
            (["HPF_PG_TLS": "require", "HPF_PG_CA_FILE": "/etc/hostname"], "HPF_PG_CA_FILE"),
            (["HPF_PG_TLS": "verify-full", "HPF_PG_CA_FILE": "/nonexistent.pem"], "HPF_PG_CA_FILE"),
            (["HPF_TOPIC_REPLICATION_FACTOR": "33"], "HPF_TOPIC_REPLICATION_FACTOR"),
        ])
    func refused(environment: [String: String], variable: String) {
        let config = ServiceConfig(descriptor: WithdrawalService.descriptor, environment: environment.merging(["HPF_ENV": "development"]) { a, _ in a })
        #expect(config.problems.contains { $0.variable == variable }, "\(config.problems)")
    }

    @Test("Postgres TLS modes")
    func postgresTLS() throws {
        let plain = ServiceConfig(descriptor: WithdrawalService.descriptor, environment: ["HPF_ENV": "development"])
        #expect(try plain.transport.postgresTLSConfiguration() == nil)
        let required = ServiceConfig(descriptor: WithdrawalService.descriptor, environment: ["HPF_ENV": "development", "HPF_PG_TLS": "require"])
        #expect(try required.transport.postgresTLSConfiguration()?.certificateVerification == CertificateVerification.none)
        let verified = ServiceConfig(descriptor: WithdrawalService.descriptor, environment: ["HPF_ENV": "development", "HPF_PG_TLS": "verify-full"])
        #expect(try verified.transport.postgresTLSConfiguration()?.certificateVerification == .fullVerification)
        #expect(verified.transport.unencryptedLinks == ["kafka (plaintext)"])
    }
}
