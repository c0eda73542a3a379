import Foundation
import Glibc

/// Runs the operator CLI as an operator would: the built `hpfctl` binary (`swift build
/// --build-tests` builds it beside the tests), against the test stack's broker. The process is
/// awaited without blocking a thread of the cooperative pool (the services under test share it),
/// and its output goes to files (a pipe left unread could fill and stall it).
enum HPFCtl {
    struct Result: Sendable {
        let status: Int32
        let output: String
        let errors: String
    }

    static var binary: URL {
        // Tests/ServiceTests/<file> → the package root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/hpfctl")
    }

    /// `limit` bounds a run: a hung CLI is stopped (and the test fails on its status) instead of
    /// hanging the suite.
    static func run(_ arguments: [String], limit: Duration = .seconds(180)) async throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["HPF_KAFKA_BROKERS"] = TestStack.brokers
        environment["HPF_ENV"] = "development"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hpfctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        let process = try ChildProcess(
            executable: binary.path, arguments: arguments, environment: environment, output: out.path, errors: err.path)
        let watchdog = Task {
            try await Task.sleep(for: limit)
            process.send(SIGTERM)
        }
        defer { watchdog.cancel() }
        let status = await process.exit()
        return Result(
            status: status, output: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
