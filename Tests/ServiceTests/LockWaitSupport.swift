import Foundation
import PostgresNIO
import ServiceRuntime
import Synchronization
import Testing

extension TestStack {
    /// Holds a transaction of `database` open with `hold` done in it, starts `request` meanwhile,
    /// and reports whether the request waited for that transaction (Postgres names it among the
    /// request's blockers) rather than finishing beside it; then commits and returns the
    /// request's answer. The shape of the tests that two writers serialise on a lock.
    static func whileHolding<Answer: Sendable>(
        _ database: Database, _ hold: @escaping @Sendable (PostgresConnection) async throws -> Void,
        request: @escaping @Sendable () async throws -> Answer
    ) async throws -> (waited: Bool, answer: Answer) {
        let finished = Atomic<Bool>(false)
        let held = StartupGate()
        let started = Task {
            await held.wait()
            defer { finished.store(true, ordering: .sequentiallyConsistent) }
            return try await request()
        }
        let waited = try await database.transaction { connection -> Bool in
            try await hold(connection)
            var ours: Int32 = 0
            for try await pid in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) { ours = pid }
            await held.open()
            var waited = false
            #expect(
                try await eventually {
                    for try await _ in try await database.query("SELECT 1 FROM pg_stat_activity WHERE \(ours) = ANY(pg_blocking_pids(pid))") {
                        waited = true
                    }
                    return waited || finished.load(ordering: .sequentiallyConsistent)
                })
            return waited
        }
        return (waited, try await started.value)
    }
}
