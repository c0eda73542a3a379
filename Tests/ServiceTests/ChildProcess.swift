import Foundation
import Glibc
import Synchronization

/// A program the tests launch (a service executable, hpfctl), spawned with `posix_spawn` rather
/// than Foundation's `Process`. The toolchain's `Process.run()` reads past the end of glibc's
/// readdir buffer while it counts the open descriptors in /proc/self/fd, and crashed the whole
/// test process twice in CI (a memcpy past a mapping, `Process.run()` on the stack; fixed in
/// swift-corelibs-foundation #5472, not in this toolchain). Serialising the launches did not
/// help: the read depends on how many descriptors are open, not on other launches.
final class ChildProcess: Sendable {
    let processIdentifier: pid_t
    /// The raw wait status once the child has been reaped.
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` and exactly `environment`; its standard output goes to
    /// the file at `output` and its standard error to `errors` (or the same file).
    init(executable: String, arguments: [String] = [], environment: [String: String], output: String, errors: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errors {
            posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing of the test process's but the three streams (sockets, the database's connections).
        for descriptor in Self.openDescriptors() where descriptor > 2 { posix_spawn_file_actions_addclose(&actions, descriptor) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let failed = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard failed == 0 else { throw LaunchFailure(executable: executable, code: failed) }
        processIdentifier = pid
    }

    /// The descriptors open now, from /proc/self/fd. Each name is read where it lies (a record is
    /// only as long as its name: copying `d_name`, 256 bytes, is Foundation's bug). One that closes
    /// before the launch makes its close action fail harmlessly (glibc ignores EBADF there).
    private static func openDescriptors() -> [Int32] {
        guard let folder = opendir("/proc/self/fd") else { return [] }
        defer { closedir(folder) }
        let own = dirfd(folder)
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        var found: [Int32] = []
        while let entry = readdir(folder) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if let descriptor = Int32(name), descriptor != own { found.append(descriptor) }
        }
        return found
    }

    /// Reaps the child if it has ended (without waiting).
    var isRunning: Bool {
        reaped.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            if waitpid(processIdentifier, &raw, WNOHANG) == processIdentifier { status = raw }
            return status == nil
        }
    }

    /// As Foundation's `Process` gives it: the exit code, or the signal that ended the child.
    /// Only meaningful once `isRunning` is false.
    var terminationStatus: Int32 {
        guard let raw = reaped.withLock({ $0 }) else { return -1 }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : signal
    }

    func send(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// Waits for the end of the child, looking every 20 ms (off the cooperative pool's threads'
    /// time: the wait itself sleeps).
    func exit() async -> Int32 {
        while isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return terminationStatus
    }

    /// Blocks the calling thread until the child has ended (a test's clean-up).
    func waitUntilExit() {
        while isRunning { usleep(20_000) }
    }

    struct LaunchFailure: Error, CustomStringConvertible {
        let executable: String
        let code: Int32
        var description: String { "could not launch \(executable): \(String(cString: strerror(code)))" }
    }
}
