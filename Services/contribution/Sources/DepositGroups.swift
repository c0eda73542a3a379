import Logging
import PostgresNIO
import ServiceRuntime

/// Group commit for deposits (#15): the payment notifications that arrive while a group is being
/// written are recorded together, in one transaction with one commit, each still answered with
/// its own result and its own event (under its own request's trace and logger). The checks write
/// nothing (`ChannelDeposit.decide`), so a deposit refused by a rule is answered with its refusal
/// and the group goes on. A group that meets contention (a race for the same transaction id with
/// another group or instance, a deadlock, a row lock held past `lockTimeout`) or any other failure
/// of its own rolls back, and each of its deposits runs again alone, as it would without groups:
/// one failing deposit never fails the others, and a deposit another group recorded meanwhile is
/// answered as a replay. Postgres away (no connection, a lost one, a commit that never answered,
/// the group past `deadlineSeconds`) answers the whole group with that error (503): each alone
/// would only wait as long again, and a channel resends, to a replay if the commit did land.
public struct DepositGroups: Sendable {
    public struct Request: Sendable {
        let deposit: ChannelDeposit
        /// The request's own logger (its request id) and trace, for whatever its deposit logs and
        /// writes: the group runs in a task of its own.
        let logger: Logger
        let span: TraceParent?

        public init(deposit: ChannelDeposit, logger: Logger, span: TraceParent? = TraceParent.current) {
            self.deposit = deposit
            self.logger = logger
            self.span = span
        }
    }
    public typealias Answer = (recorded: ContributionPosting.Recorded, replay: Bool)

    /// At most this many deposits per group; two groups in flight, so that one is being written
    /// while the other waits for its commit.
    static let limit = 32
    static let concurrency = 2
    /// How long a group waits for an account's row lock before it goes one by one (another
    /// group holds it for milliseconds; a transaction that holds it longer must not hold the
    /// group's other deposits with it).
    static let lockTimeout = "500ms"
    /// How long a group, or a deposit alone, may take before it is answered with an error: every
    /// group's bound (`GroupWork.deadlineSeconds`). A caller may also wait for the groups ahead
    /// of it, so in the worst case (a database that stops answering) its answer can come after a
    /// client's own timeout; the channel's retry is then a replay or another 503.
    static let deadlineSeconds = GroupWork.deadlineSeconds

    private let groups: GroupCommit<Request, Answer>

    public init(runtime: ServiceRuntime) {
        groups = GroupCommit(limit: Self.limit, concurrency: Self.concurrency) { requests in
            await Self.apply(requests, runtime: runtime)
        }
    }

    public func record(_ deposit: ChannelDeposit, logger: Logger) async throws -> Answer {
        try await groups.submit(Request(deposit: deposit, logger: logger))
    }

    /// Groups applied so far.
    public var groupsApplied: Int { groups.groupsApplied }

    /// Records `requests` together if it can, else each alone; answers each in its order.
    public static func apply(_ requests: [Request], runtime: ServiceRuntime) async -> [Result<Answer, any Error>] {
        HPFMetrics.depositGroups().increment()
        guard requests.count > 1 else { return [await alone(requests[0], runtime: runtime)] }
        switch await together(requests, runtime: runtime) {
        case .answered(let answers):
            return answers
        case .unavailable(let error):
            return requests.map { _ in .failure(error) }
        case .oneByOne(let error):
            HPFMetrics.depositGroupFallbacks().increment()
            runtime.logger.debug(
                "deposit group applied one by one", metadata: ["deposits": "\(requests.count)", "error": "\(DatabaseErrors.summary(error))"])
            return await withTaskGroup(of: (Int, Result<Answer, any Error>).self) { group in
                for (index, request) in requests.enumerated() { group.addTask { (index, await alone(request, runtime: runtime)) } }
                var answers = [Result<Answer, any Error>](repeating: .failure(GroupCommitError.unanswered), count: requests.count)
                for await (index, answer) in group { answers[index] = answer }
                return answers
            }
        }
    }

    /// What recording a group together came to.
    public enum Together: Sendable {
        /// Committed: each deposit's answer (refusals included).
        case answered([Result<Answer, any Error>])
        /// Rolled back, to go one by one.
        case oneByOne(any Error)
        /// Rolled back because Postgres is away: the group's answer.
        case unavailable(any Error)
    }

    /// `requests` in one transaction, their accounts locked in account order (as every group
    /// locks them, so two groups never wait for each other in a circle; an account's deposits
    /// keep their order within the group).
    public static func together(_ requests: [Request], runtime: ServiceRuntime) async -> Together {
        // A stable sort: an account's deposits keep the order they came in.
        let order = requests.indices.sorted { (requests[$0].deposit.accountNumber, $0) < (requests[$1].deposit.accountNumber, $1) }
        do {
            return .answered(
                try await withDeadline(seconds: Self.deadlineSeconds) {
                    try await runtime.transaction(logger: runtime.logger) { db in
                        try await db.query("SET LOCAL lock_timeout = '\(unescaped: Self.lockTimeout)'")
                        // Every account of the group locked by one statement, in account order.
                        let locked = try await LockedAccount.lockGroup(order.map { requests[$0].deposit }, in: db)
                        var answers = [Result<Answer, any Error>](repeating: .failure(GroupCommitError.unanswered), count: requests.count)
                        // The first deposits of the group's accounts, planned and written together by
                        // one statement; before a later deposit of an account reads it again, and at the end.
                        var planned: [(index: Int, prepared: ContributionPosting.Prepared)] = []
                        func writePlanned() async throws {
                            let recorded = try await ContributionPosting.write(group: planned.map(\.prepared), in: db)
                            for (item, recorded) in zip(planned, recorded) { answers[item.index] = .success((recorded, false)) }
                            planned = []
                        }
                        for (position, index) in order.enumerated() {
                            let request = requests[index]
                            let db = db.with(logger: request.logger)
                            if let account = locked[position] {
                                switch try await request.traced({ try await request.planInGroup(in: db, locked: account) }) {
                                case .answered(let answer): answers[index] = answer
                                case .planned(let prepared): planned.append((index, prepared))
                                }
                            } else {
                                // It reads its account again (and locks it, if the group's lock found no row).
                                try await writePlanned()
                                answers[index] = try await request.traced {
                                    switch try await request.planInGroup(in: db, locked: nil) {
                                    case .answered(let answer): answer
                                    case .planned(let prepared): .success((try await ContributionPosting.write(prepared, in: db), false))
                                    }
                                }
                            }
                        }
                        try await writePlanned()
                        return answers
                    }
                })
        } catch {
            // Contention is the group's own doing: each alone waits for its lock as it always did.
            let contention = ["40001", "40P01", "55P03"].contains(DatabaseErrors.sqlState(error) ?? "")
            return DatabaseErrors.isTransient(error) && !contention ? .unavailable(error) : .oneByOne(error)
        }
    }

    /// One deposit in a transaction of its own (run again if it lost a race for its transaction
    /// id with another instance: then it is a replay).
    static func alone(_ request: Request, runtime: ServiceRuntime) async -> Result<Answer, any Error> {
        do {
            return .success(
                try await withDeadline(seconds: Self.deadlineSeconds) {
                    try await request.traced {
                        try await runtime.idempotentTransaction(logger: request.logger) { db in try await request.deposit.record(in: db) }
                    }
                })
        } catch {
            return .failure(error)
        }
    }
}

extension DepositGroups.Request {
    /// Runs `body` under the request's own trace.
    func traced<T>(_ body: () async throws -> T) async rethrows -> T {
        guard let span else { return try await body() }
        return try await TraceParent.withSpan(span, body)
    }

    /// A deposit within a group's transaction, on the account the group's lock read (`locked`)
    /// or, without it, on the account it reads itself: its answer if it has one now (a rule's
    /// refusal, which wrote nothing; a replay), else its planned contribution, for the group to
    /// write. Anything thrown rolls the group back.
    enum InGroup {
        case answered(Result<DepositGroups.Answer, any Error>)
        case planned(ContributionPosting.Prepared)
    }

    func planInGroup(in db: DatabaseContext, locked: LockedAccount?) async throws -> InGroup {
        let decision: ChannelDeposit.Decision
        do {
            decision = try await deposit.decide(in: db, locked: locked)
        } catch let refusal as Problem {
            return .answered(.failure(refusal))
        }
        switch decision {
        case .replay(let recorded): return .answered(.success((recorded, true)))
        case .post(let account): return .planned(try await deposit.prepare(account, in: db))
        }
    }
}
