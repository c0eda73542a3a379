import Synchronization

/// The bound every group's work shares (`GroupCommit`'s users).
public enum GroupWork {
    /// How long one group's work may take, the wait for a connection included, before its
    /// requests are answered with an error; every user bounds its `apply` by it (`withDeadline`,
    /// not `withTimeout`: that one waits for its child, and a child stuck where cancellation does
    /// not reach, a query on a silent socket or a lease never granted, held every later request
    /// for ever). The work takes milliseconds; the bound is for a database that stops answering.
    /// It was 10 s for the audit trail, and a full test run (twenty-odd instances appending to one
    /// chain from one process on two loaded cores) saw the head row held past it.
    public static let deadlineSeconds: Double = 20
}

/// Group commit: requests that arrive while a group is being written wait for the next group,
/// which takes them all at once, so that one transaction (one BEGIN, one COMMIT, one flush of
/// the log) serves many. Nothing waits to form a group: a request that finds fewer than
/// `concurrency` groups in flight starts one at once, alone if it is alone; under load, groups
/// grow by themselves with the requests that arrive meanwhile.
///
/// `apply` answers each request of a group in its order (one result per input): it decides what
/// a failure in the group means for the others (the audit trail fails them all; deposits go one
/// by one, `DepositGroups`). It must end: a group that hung would hold every later request, so
/// each user bounds its work with a deadline (`GroupWork.deadlineSeconds`).
public final class GroupCommit<Input: Sendable, Output: Sendable>: Sendable {
    public typealias Apply = @Sendable ([Input]) async -> [Result<Output, any Error>]

    private struct State {
        var pending: [(Input, ResumeOnce<Output>)] = []
        var running = 0
    }

    private let state = Mutex(State())
    private let limit: Int
    private let concurrency: Int
    private let apply: Apply
    private let groups = Atomic<Int>(0)

    /// At most `limit` requests per group and `concurrency` groups in flight.
    public init(limit: Int, concurrency: Int = 1, apply: @escaping Apply) {
        precondition(limit > 0 && concurrency > 0)
        self.limit = limit
        self.concurrency = concurrency
        self.apply = apply
    }

    /// Groups applied so far (for tests and figures).
    public var groupsApplied: Int { groups.load(ordering: .relaxed) }

    /// Requests waiting for a group to take them (for tests and figures).
    public var waiting: Int { state.withLock { $0.pending.count } }

    /// Waits until `input` has been applied in some group, and answers with its own result. A
    /// caller that is cancelled (a client that went away, a stopping server) stops waiting at
    /// once; its input stays in its group, which is not the caller's alone to stop (a deposit
    /// applied after all answers the channel's retry as a replay).
    public func submit(_ input: Input) async throws -> Output {
        // A caller given up already does not add work nobody will read.
        try Task.checkCancellation()
        let answer = ResumeOnce<Output>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
                answer.wait(continuation)
                let start = state.withLock { state -> Bool in
                    state.pending.append((input, answer))
                    guard state.running < concurrency else { return false }
                    state.running += 1
                    return true
                }
                // Detached: the group serves many requests, and must not carry the task-local
                // values (the trace) of the one that happened to start it.
                if start { Task.detached { await self.drain() } }
            }
        } onCancel: {
            answer.resume(.failure(CancellationError()))
        }
    }

    private func drain() async {
        while true {
            let group = state.withLock { state -> [(Input, ResumeOnce<Output>)] in
                let group = Array(state.pending.prefix(limit))
                state.pending.removeFirst(group.count)
                if group.isEmpty { state.running -= 1 }
                return group
            }
            guard !group.isEmpty else { return }
            groups.add(1, ordering: .relaxed)
            let results = await apply(group.map(\.0))
            for (index, (_, answer)) in group.enumerated() {
                // One result per input: a missing one is a failure of the caller's, never a hang.
                answer.resume(index < results.count ? results[index] : .failure(GroupCommitError.unanswered))
            }
        }
    }
}

/// An `apply` that answered fewer requests than its group held.
public struct GroupCommitError: Error, CustomStringConvertible {
    public static let unanswered = GroupCommitError()
    public var description: String { "the group commit answered fewer requests than it was given" }
}
