import Foundation
import Synchronization

/// Launches a `Process` one at a time across the test process. A full run crashed once inside
/// Foundation's `Process.run()` (a memcpy past a mapping, launching hpfctl) while the startup
/// tests, the process-kill test and hpfctl runs were launching processes from several threads at
/// once; the launch is quick, so serialising it costs nothing, and the waits stay concurrent.
enum ProcessLaunch {
    private static let lock = Mutex(())

    static func run(_ process: Process) throws {
        try lock.withLock { _ in try process.run() }
    }
}
