import Foundation

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
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HPF_KAFKA_BROKERS"] = TestStack.brokers
        environment["HPF_ENV"] = "development"
        process.environment = environment
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hpfctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let watchdog = Task {
            try await Task.sleep(for: limit)
            if process.isRunning { process.terminate() }
        }
        defer { watchdog.cancel() }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try ProcessLaunch.run(process) } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Result(
            status: status, output: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
