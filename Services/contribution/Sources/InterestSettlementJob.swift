import Contracts
import Foundation
import Logging
import Policy
import PostgresNIO
import ServiceRuntime

/// The annual deposit-interest settlement (结息, POLICY.md "Deposit interest"): on the first day
/// after each 30 June, every open account whose interest year ended gets its interest posted,
/// dated 30 June, with an `interest-settled` event. Each account's period start moves on in the
/// same transaction as its posting, so a second run, the hourly repeat, a staff run or a run
/// stopped half-way and started again settles nothing twice. A posting that reaches an account
/// first settles it on the spot (`Ledger.post`), so the job may run late without changing a fen.
public struct InterestSettlementJob: Sendable {
    let runtime: ServiceRuntime
    static let accountsPerChunk = 5_000
    /// Chunks run on this many connections at once; accounts are disjoint, so they never wait
    /// on each other, and Swift work overlaps database work.
    static let workers = 2

    public init(runtime: ServiceRuntime) { self.runtime = runtime }

    public struct Summary: Codable, Sendable {
        public var asOf: BusinessDate
        /// The latest interest year end (30 June) settled by this run.
        public var settlementDay: BusinessDate
        public var accounts = 0
        public var postings = 0
        public var interestFen: Fen = 0

        static func add(_ total: inout Summary, _ part: Summary) {
            total.accounts += part.accounts
            total.postings += part.postings
            total.interestFen += part.interestFen
        }
    }

    public func run(asOf: BusinessDate) async throws -> Summary {
        let day = DepositInterest.lastSettlementDay(before: asOf, parameters: runtime.parameters)
        let cursor = AccountCursor(database: runtime.database, settlementDay: day, batch: Self.accountsPerChunk)
        return try await runtime.inChunks(
            workers: Self.workers, empty: Summary(asOf: asOf, settlementDay: day), next: { try await cursor.next() },
            chunk: { try await runChunk(asOf: asOf, due: $0) }, merge: Summary.add)
    }

    /// Hands out due accounts in key order, a batch at a time, read as they stand (unlocked:
    /// each chunk writes only where nothing moved since).
    actor AccountCursor {
        let database: Database
        let settlementDay: BusinessDate
        let batch: Int
        var after = ""
        var exhausted = false

        init(database: Database, settlementDay: BusinessDate, batch: Int) {
            self.database = database
            self.settlementDay = settlementDay
            self.batch = batch
        }

        func next() async throws -> [Due]? {
            guard !exhausted else { return nil }
            let accounts = try await Due.read(
                try await database.query(
                    """
                    SELECT \(unescaped: Due.columns) FROM accounts
                    WHERE account_number > \(after) AND interest_period_from <= \(settlementDay) AND status <> 'closed'
                    ORDER BY account_number LIMIT \(batch)
                    """))
            guard let last = accounts.last else {
                exhausted = true
                return nil
            }
            after = last.account
            return accounts
        }
    }

    /// A due account as read.
    struct Due: Sendable {
        let account: String
        let balance: Fen
        let lastSeq: Int64
        let openedOn: BusinessDate
        let periodFrom: BusinessDate
        let balanceSince: BusinessDate
        /// Nil for an account from before interest was kept.
        let accrued: Int64?

        static let columns = "account_number, balance_fen, last_seq, opened_on, interest_period_from, balance_since, interest_accrued"

        static func read(_ rows: QueryRows) async throws -> [Due] {
            var due: [Due] = []
            for try await (account, balance, lastSeq, opened, from, since, accrued) in rows.decode(
                (String, Int64, Int64, BusinessDate, BusinessDate, BusinessDate, Int64?).self)
            {
                due.append(Due(account: account, balance: balance, lastSeq: lastSeq, openedOn: opened, periodFrom: from, balanceSince: since, accrued: accrued))
            }
            return due
        }

        func state() -> LedgerInterest.State? {
            LedgerInterest.State.kept(
                account: account, balance: balance, lastSeq: lastSeq, openedOn: openedOn, periodFrom: periodFrom,
                balanceSince: balanceSince, accrued: accrued)
        }
    }

    /// One settlement posting computed for the chunk.
    private struct Settlement {
        let account: String
        let seq: Int64
        let amount: Fen
        let balanceAfter: Fen
        let periodFrom: BusinessDate
        let through: BusinessDate
    }

    /// One batch of accounts in one transaction: read, compute in Swift, write set-based. The
    /// write is optimistic rather than locked (a million row locks cost a WAL record each): an
    /// account that a posting changed in between is left out of this pass and taken in the next
    /// (or was settled by that posting itself).
    private func runChunk(asOf: BusinessDate, due: [Due]) async throws -> Summary {
        let day = DepositInterest.lastSettlementDay(before: asOf, parameters: runtime.parameters)
        var summary = Summary(asOf: asOf, settlementDay: day)
        var read = due
        while !read.isEmpty {
            let states = read
            let (done, skipped) = try await runtime.transaction { db in
                try await settleOnce(asOf: asOf, states: try await prepare(states, in: db), in: db)
            }
            Summary.add(&summary, done)
            read = skipped.isEmpty ? [] : try await reread(skipped, settlementDay: day)
        }
        return summary
    }

    private func settleOnce(asOf: BusinessDate, states: [LedgerInterest.State], in db: DatabaseContext) async throws -> (Summary, skipped: [String]) {
        let p = runtime.parameters
        let day = DepositInterest.lastSettlementDay(before: asOf, parameters: p)
        // Re-runnable and idempotent, and a lost commit loses postings and events together.
        try await db.query("SET LOCAL synchronous_commit = off")
        var summary = Summary(asOf: asOf, settlementDay: day)
        var settlements: [Settlement] = []
        var accounts: [String] = [], oldSeqs: [Int64] = [], oldPeriods: [BusinessDate] = []
        var balances: [Int64] = [], seqs: [Int64] = [], interests: [Int64] = []
        var periodsFrom: [BusinessDate] = [], since: [BusinessDate] = [], accrued: [Int64] = []
        for var state in states {
            accounts.append(state.account); oldSeqs.append(state.lastSeq); oldPeriods.append(state.accrual.periodFrom)
            var added: Fen = 0
            for through in state.accrual.dueSettlements(before: asOf, parameters: p) {
                let periodFrom = state.accrual.periodFrom
                let interest = try state.accrual.settle(balance: state.balance, through: through, parameters: p)
                guard interest > 0 else { continue }
                state.balance += interest
                state.lastSeq += 1
                added += interest
                settlements.append(
                    Settlement(
                        account: state.account, seq: state.lastSeq, amount: interest, balanceAfter: state.balance,
                        periodFrom: periodFrom, through: through))
            }
            balances.append(state.balance); seqs.append(state.lastSeq); interests.append(added)
            periodsFrom.append(state.accrual.periodFrom); since.append(state.accrual.balanceSince)
            accrued.append(state.accrual.accrued)
        }
        guard !accounts.isEmpty else { return (summary, []) }
        // Only where nothing moved since the read: the same last posting and the same open period.
        let rows = try await db.query(
            """
            UPDATE accounts a SET balance_fen = u.balance, last_seq = u.seq, interest_fen = a.interest_fen + u.interest,
                interest_period_from = u.period_from, balance_since = u.since, interest_accrued = u.accrued
            FROM unnest(\(accounts)::text[], \(oldSeqs)::bigint[], \(oldPeriods)::date[], \(balances)::bigint[], \(seqs)::bigint[],
                        \(interests)::bigint[], \(periodsFrom)::date[], \(since)::date[], \(accrued)::bigint[])
                 AS u(account, old_seq, old_period, balance, seq, interest, period_from, since, accrued)
            WHERE a.account_number = u.account AND a.last_seq = u.old_seq AND a.interest_period_from = u.old_period
                AND a.interest_accrued IS NOT NULL
            RETURNING a.account_number
            """)
        var updated = Set<String>()
        for try await account in rows.decode(String.self) { updated.insert(account) }
        let skipped = accounts.filter { !updated.contains($0) }
        settlements.removeAll { !updated.contains($0.account) }
        summary.accounts = updated.count
        summary.interestFen = settlements.reduce(0) { $0 + $1.amount }
        guard !settlements.isEmpty else { return (summary, skipped) }
        let now = runtime.clock.now
        try await db.query(
            """
            INSERT INTO postings (account_number, seq, id, kind, amount_fen, balance_after_fen, at, business_date, reference)
            SELECT account, seq, id, 'interest', amount, balance_after, \(now), through, 'interest:' || to_char(through, 'YYYY-MM-DD')
            FROM unnest(\(settlements.map(\.account))::text[], \(settlements.map(\.seq))::bigint[], \(settlements.map { _ in UUID.timeOrdered(at: now) })::uuid[],
                        \(settlements.map(\.amount))::bigint[], \(settlements.map(\.balanceAfter))::bigint[], \(settlements.map(\.through))::date[])
                 AS s(account, seq, id, amount, balance_after, through)
            """)
        let events = settlements.map { s in
            CloudEvent(
                id: UUID.timeOrdered(at: now), source: runtime.descriptor.eventSource, type: EventType.interestSettled.rawValue, subject: s.account,
                data: InterestSettled(
                    accountNumber: s.account, occasion: .annual, periodFrom: s.periodFrom, periodThrough: s.through,
                    interestFen: s.amount, postedOn: s.through, balanceAfterFen: s.balanceAfter, sequence: s.seq))
        }
        try await Outbox.enqueue(batch: events, topic: .contributionEvents, on: db.connection, logger: db.logger)
        summary.postings = settlements.count
        return (summary, skipped)
    }

    /// The states to settle; an account from before interest was kept has its postings replayed
    /// under its row lock first, the years it crossed posted (rare: once per account).
    private func prepare(_ due: [Due], in db: DatabaseContext) async throws -> [LedgerInterest.State] {
        var states: [LedgerInterest.State] = []
        for account in due {
            if let state = account.state() {
                states.append(state)
            } else if let state = try await LedgerInterest.load(account.account, in: db) {
                states.append(state)
            }
        }
        return states
    }

    /// Accounts a posting changed between the read and the write, read again if still due.
    private func reread(_ numbers: [String], settlementDay: BusinessDate) async throws -> [Due] {
        try await Due.read(
            try await runtime.database.query(
                """
                SELECT \(unescaped: Due.columns) FROM accounts
                WHERE account_number = ANY(\(numbers)) AND interest_period_from <= \(settlementDay) AND status <> 'closed'
                ORDER BY account_number
                """))
    }
}
