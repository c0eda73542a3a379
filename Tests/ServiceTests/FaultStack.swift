import Foundation
import Glibc
import ServiceRuntime

/// The outage tests' own Postgres and broker (`HPF_STACK=fault`, ports 55435 and 9095 unless
/// HPF_FAULT_PG_PORT / HPF_FAULT_KAFKA_PORT say otherwise): they are stopped and paused while
/// the rest of the suite runs on the test stack beside them. Started fresh once per test run by
/// the dev stack's own scripts; `make test` stops them at the end.
enum FaultStack {
    static let pgPort = Int(TestStack.environment["HPF_FAULT_PG_PORT"] ?? "") ?? 55435
    static let kafkaPort = Int(TestStack.environment["HPF_FAULT_KAFKA_PORT"] ?? "") ?? 9095
    static var brokers: String { "127.0.0.1:\(kafkaPort)" }
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let log = FileManager.default.temporaryDirectory.appendingPathComponent("hpf-fault-stack-\(getpid()).log").path

    /// A test service's configuration on the fault stack.
    static func config(_ descriptor: ServiceDescriptor) -> ServiceConfig {
        var config = TestStack.config(descriptor)
        config.pgPort = pgPort
        config.kafkaBrokers = brokers
        // The production deadline: the outage tests measure how fast a write hears 503.
        config.pgAcquireTimeoutSeconds = 5
        return config
    }

    /// A fresh Postgres (with the service roles) and broker, once per test process.
    static func up() async throws {
        try await started.value
    }

    private static let started = Task {
        try await script("pg.sh reset")
        try await script("kafka.sh stop")
        try await script("kafka.sh start")
    }

    static func stopPostgres() async throws { try await script("pg.sh stop") }
    static func startPostgres() async throws { try await script("pg.sh start") }
    static func pauseBroker() async throws { try await script("kafka.sh pause") }
    static func resumeBroker() async throws { try await script("kafka.sh resume") }

    struct ScriptFailed: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        var description: String { "\(command) exited with \(status); see \(FaultStack.log)" }
    }

    /// Runs one of the dev stack's scripts for the fault stack and waits for it (off the
    /// cooperative pool). posix_spawn and waitpid, not Foundation's Process: Postgres and the
    /// broker outlive the script, and Process waits for every holder of its descriptors.
    static func script(_ command: String) async throws {
        // Every descriptor of the test process beyond stdio is closed first: Postgres and the broker
        // started here would otherwise hold the test's own database sockets open for ever, and a
        // connection the test closed would live on in the server, holding its locks.
        let closeInherited = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; "#
        let line = closeInherited + "HPF_STACK=fault bash '\(root.path)/Tools/devstack/'\(command) >>'\(log)' 2>&1 </dev/null"
        let status: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var pid: pid_t = 0
                let arguments = ["/bin/bash", "-c", line]
                var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
                defer { argv.forEach { free($0) } }
                guard posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ) == 0 else {
                    continuation.resume(returning: -1)
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: (status >> 8) & 0xff)
            }
        }
        guard status == 0 else { throw ScriptFailed(command: command, status: status) }
    }
}
