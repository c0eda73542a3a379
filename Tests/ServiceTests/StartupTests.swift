import AsyncHTTPClient
import Crypto
import Foundation
import Glibc
import NIOCore
import ServiceRuntime
import Testing

/// The service executables as an operator runs them: settings are refused at start with status 2
/// and one line naming the variable; secrets never reach a log, even at debug level; "ready"
/// comes once the port is bound; a port already taken or refused database credentials end the
/// process within seconds; SIGTERM ends it within the shutdown limit.
@Suite("Start-up and shutdown of the service executables")
struct StartupTests {
    /// One run of a service executable, its output in a file.
    final class ServiceProcess: @unchecked Sendable {
        let process: ChildProcess
        let output: URL

        init(_ service: String, reseal: Bool = false, environment extra: [String: String]) throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let executable = root.appendingPathComponent(".build/debug/\(service)").path
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HPF_") }
            environment["HPF_PG_PORT"] = TestStack.environment["HPF_PG_PORT"] ?? "55433"
            environment["HPF_KAFKA_BROKERS"] = TestStack.brokers
            environment["HPF_LOG_FORMAT"] = "text"
            environment["HPF_CONSUMER_GROUP"] = TestStack.unique("hpf.startup")
            // While it runs it is one more instance of the service on the shared test stack: it
            // must keep the stack's business date (its daily jobs run at start) and development keys.
            environment["HPF_BUSINESS_DATE"] = TestStack.today.description
            for (key, value) in extra { environment[key] = value }
            output = FileManager.default.temporaryDirectory.appendingPathComponent("hpf-startup-\(UUID().uuidString).log")
            process = try ChildProcess(
                executable: executable, arguments: reseal ? ["reseal-personal-data"] : [], environment: environment, output: output.path)
        }

        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// The bound port once "ready" is logged.
        func readyPort(seconds: Double = 90) async throws -> Int? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline, process.isRunning {
                if let line = text.split(separator: "\n").first(where: { $0.hasSuffix(" ready") }),
                    let range = line.range(of: #"port=(\d+)"#, options: .regularExpression)
                {
                    return Int(line[range].dropFirst("port=".count))
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }

        /// The exit status if the process ends within `seconds`, nil if it is still running then.
        func exitStatus(within seconds: Double) async throws -> Int32? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if !process.isRunning { return process.terminationStatus }
                try await Task.sleep(for: .milliseconds(100))
            }
            return process.isRunning ? nil : process.terminationStatus
        }

        func stop() {
            process.send(SIGKILL)
            try? FileManager.default.removeItem(at: output)
        }
    }

    /// A production environment that passes every check, to break one setting at a time.
    static func production() -> [String: String] {
        [
            "HPF_ENV": "production", "HPF_PG_PASSWORD": "enrolment-but-not-the-default", "HPF_PG_OWNER_PASSWORD": "owner-but-not-the-default",
            "HPF_PERSON_KEY_SECRET": "a-person-key-secret-of-at-least-32-bytes-xyz",
            "HPF_IDP_ISSUER": "https://idp.example", "HPF_IDP_AUDIENCE": "hpf",
            "HPF_IDP_JWKS":
                #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"\#(Base64URL.encode(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation))"}]}"#,
            "HPF_EVENT_SIGNING_KEY": Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString(),
            "HPF_EVENT_KEYS":
                #"[{"keyId":"e-1","service":"enrolment","publicKey":"\#(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString())"}]"#,
            "HPF_DATA_KEYS": #"[{"keyId":"pd-1","key":"\#(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString())"}]"#,
        ]
    }

    @Test(
        "outside development a missing, public or unparsable setting stops the service at start: status 2, one line naming the variable",
        arguments: [
            ("HPF_PERSON_KEY_SECRET", ""), ("HPF_PERSON_KEY_SECRET", ServiceConfig.developmentPersonKeySecret), ("HPF_PG_PASSWORD", ""),
            ("HPF_PG_PASSWORD", "enrolment"), ("HPF_PG_OWNER_PASSWORD", ""), ("HPF_PG_OWNER_PASSWORD", "enrolment_owner"), ("HPF_PG_OWNER_USER", "enrolment"),
            ("HPF_IDP_JWKS", ""), ("HPF_PG_PORT", "abc"), ("HPF_HTTP_PORT", "70000"),
            ("HPF_PG_MAX_CONNECTIONS", "lots"), ("HPF_LOG_FORMAT", "xml"), ("HPF_LOG_LEVEL", "loud"), ("HPF_BUSINESS_DATE", "2026-13-01"),
            ("HPF_KAFKA_BROKERS", "nohost"), ("HPF_ENV", "prod"), ("HPF_METRICS_PUBLIC", "yes"), ("HPF_SHUTDOWN_TIMEOUT", "-1"),
            ("HPF_EVENT_SIGNING_KEY", ""), ("HPF_EVENT_SIGNING_KEY", "bm90LWEta2V5"), ("HPF_EVENT_KEYS", ""), ("HPF_EVENT_KEYS", "[{}]"),
            ("HPF_DATA_KEYS", ""),
            ("HPF_DATA_KEYS", #"[{"keyId":"pd-x","key":"\#(PersonalDataCipher.developmentKey.withUnsafeBytes { Data($0) }.base64EncodedString())"}]"#),
            ("HPF_DATA_KEYS", #"[{"keyId":"pd-1","key":"c2hvcnQ="}]"#), ("HPF_DATA_KEY_ID", "pd-unknown"),
            ("HPF_KAFKA_SECURITY_PROTOCOL", "tls"), ("HPF_KAFKA_CA_FILE", "/nonexistent/ca.pem"), ("HPF_PG_TLS", "maybe"),
            ("HPF_TOPIC_REPLICATION_FACTOR", "0"), ("HPF_TOPIC_RETENTION_HOURS", "forever"), ("HPF_KAFKA_LINGER_MS", "5000"),
        ])
    func refusedAtStart(variable: String, value: String) async throws {
        var environment = Self.production()
        environment[variable] = value
        let run = try ServiceProcess("enrolment", environment: environment)
        defer { run.stop() }
        let status = try await run.exitStatus(within: 60)
        #expect(status == 2, "\(variable)=\(value): \(String(describing: status)) \(run.text)")
        let lines = run.text.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("configuration refused: \(variable)"), "\(run.text)")
    }

    @Test("refused database credentials end the service within seconds, naming the setting and not the password")
    func refusedCredentials() async throws {
        let password = "wrong-\(UUID().uuidString)"
        let run = try ServiceProcess(
            "contribution",
            environment: [
                "HPF_ENV": "development", "HPF_PG_PASSWORD": password, "HPF_LOG_LEVEL": "trace",
                "HPF_HTTP_PORT": "0",
            ])
        defer { run.stop() }
        let status = try await run.exitStatus(within: 60)
        #expect(status == 2, "\(String(describing: status)) \(run.text)")
        #expect(run.text.contains("configuration refused: HPF_PG_PASSWORD"))
        #expect(!run.text.contains(password), "the password is in the output")
    }

    @Test("at debug level no secret or token reaches the log; settings are logged redacted; ready after the bind; SIGTERM ends it in time")
    func secretsStayOutOfDebugLogs() async throws {
        // The stack's own development values, given explicitly (another secret would make this
        // instance disagree with the others on the shared stack); each is a distinctive text to look for.
        let personSecret = ServiceConfig.developmentPersonKeySecret
        let signingKey = PartnerSignature.developmentKey(city: "320700").rawRepresentation.base64EncodedString()
        let decryptionKey = PartnerSealing.developmentKey(city: "320700").rawRepresentation.base64EncodedString()
        let run = try ServiceProcess(
            "regional-sync",
            environment: [
                "HPF_ENV": "development", "HPF_LOG_LEVEL": "trace", "HPF_HTTP_PORT": "0", "HPF_PERSON_KEY_SECRET": personSecret,
                "HPF_PARTNER_SIGNING_KEY": signingKey, "HPF_PARTNER_DECRYPTION_KEY": decryptionKey, "HPF_SHUTDOWN_TIMEOUT": "10",
            ])
        defer { run.stop() }
        let port = try #require(try await run.readyPort(), "ready with a port: \(run.text)")
        // Ready means bound: the port answers at once.
        let token = try #require(
            TestIdentity.staff([.fundOfficer], id: "officer-debug").headers(method: "GET", path: "/v1/partners", body: "")["authorization"])
        for (path, authorization) in [("/ready", nil), ("/v1/partners", token), ("/v1/transfers/in", token), ("/v1/partners", "Bearer \(personSecret)")] {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            if path == "/v1/transfers/in" {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"accountNumber":"1","name":"张伟","idNumber":"320706199001010012","partnerCity":"320300"}"#))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code > 0, "\(path)")
            _ = try await response.body.collect(upTo: 1 << 20)
        }
        run.process.send(SIGTERM)
        let status = try await run.exitStatus(within: 30)
        #expect(status == 0, "SIGTERM: \(String(describing: status))")
        let log = run.text
        #expect(
            log.contains("HPF_PERSON_KEY_SECRET=<redacted>") && log.contains("HPF_PARTNER_SIGNING_KEY=<redacted>")
                && log.contains("HPF_PARTNER_DECRYPTION_KEY=<redacted>"), "settings line")
        for secret in [personSecret, signingKey, decryptionKey, String(token.dropFirst("Bearer ".count)), "320706199001010012", "张伟"] {
            #expect(!log.contains(secret), "\(secret.prefix(12))... is in the debug log")
        }
        let readyLine = log.split(separator: "\n").firstIndex { $0.hasSuffix(" ready") }
        let boundLine = log.split(separator: "\n").firstIndex { $0.contains("listening on") }
        #expect(readyLine != nil && boundLine != nil && boundLine! < readyLine!, "ready after the bind")
    }

    @Test("the re-encryption command reseals with the current data key and exits 0")
    func resealCommand() async throws {
        let run = try ServiceProcess("withdrawal", reseal: true, environment: ["HPF_ENV": "development"])
        defer { run.stop() }
        let status = try await run.exitStatus(within: 90)
        #expect(status == 0, "\(String(describing: status)) \(run.text)")
        #expect(run.text.contains("hpf-withdrawal: resealed with data key \(PersonalDataCipher.developmentKeyId):"), "\(run.text)")
    }

    @Test("a port already taken ends the service with a non-zero status within seconds")
    func portTaken() async throws {
        // The test holds the port itself (a port of another process might be let go meanwhile).
        let holder = try #require(ListeningSocket())
        defer { holder.close() }
        let run = try ServiceProcess("withdrawal", environment: ["HPF_ENV": "development", "HPF_HTTP_PORT": "\(holder.port)"])
        defer { run.stop() }
        let status = try await run.exitStatus(within: 60)
        #expect(status != nil && status != 0, "\(String(describing: status)) \(run.text)")
    }
}

/// A TCP socket listening on a free loopback port, for as long as the test keeps it.
final class ListeningSocket {
    let descriptor: Int32
    let port: Int

    init?() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else { Glibc.close(fd); return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(descriptor) }
}
