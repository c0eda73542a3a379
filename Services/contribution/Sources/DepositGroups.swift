import Logging
import PostgresNIO
import ServiceRuntime

/// Group commit for deposits (#15): the payment notifications that arrive while a group is being
/// written are recorded together, in one transaction with one commit, each still answered with
/// its own result and its own event. The checks write nothing (`ChannelDeposit.decide`), so a
/// deposit refused by a rule is answered with its refusal and the group goes on. Anything else
/// that goes wrong in the group (a failed statement, a race for the same transaction id with
/// another instance, a deadlock, a lost commit) rolls the group back and each of its deposits
/// runs again alone, as it would without groups: one failing deposit never fails the others, and
/// a deposit the lost commit did record is answered as a replay.
public struct DepositGroups: Sendable {
    public struct Request: Sendable {
        let deposit: ChannelDeposit
        /// The request's own logger (its request id), for whatever its deposit logs.
        let logger: Logger

        public init(deposit: ChannelDeposit, logger: Logger) {
            self.deposit = deposit
            self.logger = logger
        }
    }
    public typealias Answer = (recorded: ContributionPosting.Recorded, replay: Bool)

    /// At most this many deposits per group; two groups in flight, so that one is being written
    /// while the other waits for its commit.
    static let limit = 32
    static let concurrency = 2

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

    /// Records `requests` in one transaction and answers each in its order; the group's accounts
    /// are locked in account order (`ChannelDeposit.decide`), as every group locks them, so two
    /// groups never wait for each other in a circle.
    public static func apply(_ requests: [Request], runtime: ServiceRuntime) async -> [Result<Answer, any Error>] {
        HPFMetrics.depositGroups().increment()
        guard requests.count > 1 else { return [await alone(requests[0], runtime: runtime)] }
        // A stable sort: an account's deposits keep the order they came in.
        let order = requests.indices.sorted { (requests[$0].deposit.accountNumber, $0) < (requests[$1].deposit.accountNumber, $1) }
        do {
            return try await runtime.transaction(logger: runtime.logger) { db in
                var answers = [Result<Answer, any Error>](repeating: .failure(GroupCommitError.unanswered), count: requests.count)
                for index in order {
                    let request = requests[index]
                    let mine = db.with(logger: request.logger)
                    let decision: ChannelDeposit.Decision
                    do {
                        decision = try await request.deposit.decide(in: mine)
                    } catch let refusal as Problem {
                        answers[index] = .failure(refusal)
                        continue
                    }
                    switch decision {
                    case .replay(let recorded): answers[index] = .success((recorded, true))
                    case .post(let account): answers[index] = .success((try await request.deposit.post(account, in: mine), false))
                    }
                }
                return answers
            }
        } catch {
            HPFMetrics.depositGroupFallbacks().increment()
            runtime.logger.debug(
                "deposit group applied one by one", metadata: ["deposits": "\(requests.count)", "error": "\(DatabaseErrors.summary(error))"])
            var answers: [Result<Answer, any Error>] = []
            for request in requests { answers.append(await alone(request, runtime: runtime)) }
            return answers
        }
    }

    /// One deposit in a transaction of its own (run again if it lost a race for its transaction
    /// id with another instance: then it is a replay).
    static func alone(_ request: Request, runtime: ServiceRuntime) async -> Result<Answer, any Error> {
        do {
            return .success(try await runtime.idempotentTransaction(logger: request.logger) { db in try await request.deposit.record(in: db) })
        } catch {
            return .failure(error)
        }
    }
}
