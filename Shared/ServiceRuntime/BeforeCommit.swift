import Synchronization

/// Work a transaction does once, just before it commits, however many of its events asked for
/// it. A consumer applies a poll's events in one transaction (`applyTogether`); where each event
/// would run the same closing step (the fund pool's release after every balance-raising event,
/// with its lock and its look at the queue), the transaction runs it once, after the last event,
/// and still inside the transaction, so it commits or rolls back with them.
///
/// Only a runner that promises to run the list creates one (the consumers, one per inbox
/// transaction). Elsewhere `DatabaseContext.onceBeforeCommit` runs the step at once, which is
/// just as correct, only not shared.
public final class BeforeCommit: Sendable {
    private struct Step {
        let key: String
        let run: @Sendable (DatabaseContext) async throws -> Void
    }
    private let steps = Mutex<[Step]>([])

    public init() {}

    /// Adds `run` under `key` unless a step of that key is already listed.
    func add(_ key: String, _ run: @escaping @Sendable (DatabaseContext) async throws -> Void) {
        steps.withLock { steps in
            if !steps.contains(where: { $0.key == key }) { steps.append(Step(key: key, run: run)) }
        }
    }

    /// Runs the listed steps in the order they were first asked for, on `db` (the transaction's
    /// context); a step may list another, which runs too.
    public func run(in db: DatabaseContext) async throws {
        var done = 0
        while let step = steps.withLock({ done < $0.count ? $0[done] : nil }) {
            try await step.run(db)
            done += 1
        }
    }
}

extension DatabaseContext {
    /// Runs `step` before this transaction commits, once however many times it is asked for under
    /// `key` (see `BeforeCommit`); at once where the transaction keeps no such list.
    public func onceBeforeCommit(_ key: String, _ step: @escaping @Sendable (DatabaseContext) async throws -> Void) async throws {
        guard let beforeCommit else { return try await step(self) }
        beforeCommit.add(key, step)
    }
}
