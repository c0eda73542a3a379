import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §19 资金池: flexible contributors share the pool with employed contributors. The pool is the
/// flexible balances (from the ledger's events), the employed contributors' share and bank credit
/// lines (recorded by staff); loans paid out draw on it. Its totals are kept incrementally, by
/// triggers in the same transaction as each change (migration 7): a decision reads a few rows,
/// never every account. An approval reserves its amount with one guarded update of the totals
/// row; one that would leave less than the liquidity floor waits (`awaiting_liquidity`) and is
/// paid out, oldest first, as soon as liquidity returns, whatever brings it back.
enum FundPool {
    struct View: Codable, Sendable {
        var flexibleBalancesFen: Fen
        var employedShareFen: Fen
        var creditLinesFen: Fen
        var assetsFen: Fen
        var loansOutstandingFen: Fen
        var availableFen: Fen
        var liquidityFloorFen: Fen
        var awaitingLiquidity: Int
        var awaitingLiquidityFen: Fen
    }

    /// The pool's assets as SQL over the totals row `p` (numeric: the sums cannot overflow).
    static let assetsSQL = "((SELECT coalesce(sum(flexible_fen), 0) FROM pool_balance_slots)::numeric + p.employed_share_fen + p.credit_lines_fen)"

    static func view(in db: DatabaseContext) async throws -> View {
        let rows = try await db.query(
            """
            SELECT (SELECT coalesce(sum(flexible_fen), 0) FROM pool_balance_slots)::bigint, p.employed_share_fen, p.credit_lines_fen,
                   p.loans_outstanding_fen,
                   (SELECT count(*) FROM loans WHERE status = 'awaiting_liquidity')::int,
                   (SELECT coalesce(sum(principal_fen), 0) FROM loans WHERE status = 'awaiting_liquidity')::bigint
            FROM pool_totals p
            """)
        for try await (flexible, employed, credit, outstanding, waiting, waitingFen) in rows.decode((Int64, Int64, Int64, Int64, Int, Int64).self) {
            // Checked: entries are bounded one by one (`InputRange`), but their sums are not.
            let assets = try Checked.add(try Checked.add(flexible, employed), credit)
            return View(
                flexibleBalancesFen: flexible, employedShareFen: employed, creditLinesFen: credit, assetsFen: assets,
                loansOutstandingFen: outstanding, availableFen: try Checked.subtract(assets, outstanding),
                liquidityFloorFen: try Checked.basisPoints(assets, db.parameters.liquidityFloorBasisPoints.value(on: db.today)),
                awaitingLiquidity: waiting, awaitingLiquidityFen: waitingFen)
        }
        throw Problem.unavailable("the fund pool could not be read")
    }

    /// Reserves `amount` for a loan about to be paid out, if lending it keeps the pool at or above
    /// its liquidity floor (the floor rounded half up, as `Checked.basisPoints`). One guarded update
    /// of the totals row: two approvals racing for the last liquidity meet on that row, and the
    /// second sees the first's loan (its trigger adds the outstanding amount) when its condition is
    /// checked again; approvals that do not race wait only for each other's commit.
    static func reserve(_ amount: Fen, in db: DatabaseContext) async throws -> Bool {
        // The floor in force on the day of the decision (§19).
        let floor = db.parameters.liquidityFloorBasisPoints.value(on: db.today)
        var reserved = false
        for try await _ in try await db.query(
            """
            UPDATE pool_totals p SET loans_outstanding_fen = p.loans_outstanding_fen
            WHERE \(unescaped: assetsSQL) - p.loans_outstanding_fen - \(amount) >= round(\(unescaped: assetsSQL) * \(floor) / 10000)
            RETURNING 1
            """)
        { reserved = true }
        return reserved
    }

    /// The queue's lock key: every release holds it shared, an approval about to queue holds it alone.
    static let queueLock = "SELECT hashtextextended('fund-pool:queue', 0)"

    /// Pays out queued loans, oldest first, while liquidity allows; called wherever liquidity may
    /// have returned (a deposit, a subsidy, a reversal, a transfer in, a repayment, a pool entry).
    /// Without queued loans it costs one index probe, after the queue's lock taken shared (shared
    /// holders never wait for each other): an approval that found too little liquidity takes it
    /// alone before it queues its loan (`lockQueue`), so it waits for the releases in flight and
    /// then sees their liquidity, and a release after it sees its queued loan. Without the lock, a
    /// deposit and an approval at the same moment each missed the other's uncommitted write: the
    /// loan waited although the pool had room, until some later liquidity came.
    /// A transaction that writes the pool's totals row before it releases (a repayment, a pool
    /// entry) takes the queue's lock shared first (`holdQueue`): taken after the row, it could
    /// wait for an approval that holds the queue alone and waits for the row.
    /// The queue is read a page at a time, as long as liquidity lasts.
    @discardableResult
    static func release(in db: DatabaseContext) async throws -> Int {
        try await holdQueue(in: db)
        var released = 0
        while true {
            let rows = try await db.query(
                """
                SELECT loan_id, principal_fen FROM loans WHERE status = 'awaiting_liquidity' ORDER BY queued_at LIMIT \(Self.queuePage) FOR UPDATE SKIP LOCKED
                """)
            var queued: [(UUID, Int64)] = []
            for try await row in rows.decode((UUID, Int64).self) { queued.append(row) }
            for (id, principal) in queued {
                guard try await reserve(principal, in: db) else { return released }
                try await Loans.disburse(id, in: db)
                released += 1
            }
            // A short page was the end of the queue (the loans paid out have left it).
            if queued.count < Self.queuePage { return released }
        }
    }

    /// Queued loans read at a time by `release`.
    static let queuePage = 100

    /// Takes the queue's lock alone (see `release`), for an approval about to queue its loan; in
    /// the transaction itself, not under a savepoint (a rollback to it would drop the lock).
    static func lockQueue(in db: DatabaseContext) async throws {
        try await db.query("SELECT pg_advisory_xact_lock((\(unescaped: queueLock)))")
    }

    /// Takes the queue's lock shared (see `release`); again in the same transaction costs a round trip only.
    static func holdQueue(in db: DatabaseContext) async throws {
        try await db.query("SELECT pg_advisory_xact_lock_shared((\(unescaped: queueLock)))")
    }

    struct Totals: Codable, Sendable, Equatable {
        var flexibleBalancesFen: Fen
        var employedShareFen: Fen
        var creditLinesFen: Fen
        var loansOutstandingFen: Fen
    }

    struct Rebuilt: Codable, Sendable {
        /// What the incremental totals said, and what the read models add up to (now stored).
        var kept: Totals
        var recomputed: Totals
        var drift: Bool
    }

    /// Recomputes the totals from the read models (every account, loan and entry), stores them
    /// and reports any drift. Writers of balances and loans wait meanwhile (table locks), so the
    /// comparison is exact.
    static func rebuild(in db: DatabaseContext) async throws -> Rebuilt {
        let logger = db.logger
        try await db.query("LOCK TABLE ledger_accounts, loans, pool_entries IN SHARE ROW EXCLUSIVE MODE")
        func totals(_ sql: String) async throws -> Totals {
            for try await (a, b, c, d) in try await db.query(PostgresQuery(unsafeSQL: sql)).decode((Int64, Int64, Int64, Int64).self) {
                return Totals(flexibleBalancesFen: a, employedShareFen: b, creditLinesFen: c, loansOutstandingFen: d)
            }
            throw Problem.unavailable("the fund pool could not be read")
        }
        let kept = try await totals(
            """
            SELECT (SELECT coalesce(sum(flexible_fen), 0) FROM pool_balance_slots)::bigint, employed_share_fen, credit_lines_fen, loans_outstanding_fen
            FROM pool_totals
            """)
        let recomputed = try await totals(
            """
            SELECT (SELECT coalesce(sum(balance_fen), 0) FROM ledger_accounts)::bigint,
                   (SELECT coalesce(sum(amount_fen), 0) FROM pool_entries WHERE kind = 'employed_share')::bigint,
                   (SELECT coalesce(sum(amount_fen), 0) FROM pool_entries WHERE kind = 'credit_line')::bigint,
                   (SELECT coalesce(sum(outstanding_fen), 0) FROM loans WHERE status = 'active')::bigint
            """)
        try await db.query(
            """
            WITH t AS (SELECT hashtext(account_number) & 15 AS slot, sum(balance_fen) AS total FROM ledger_accounts GROUP BY 1)
            UPDATE pool_balance_slots s SET flexible_fen = coalesce((SELECT total FROM t WHERE t.slot = s.slot), 0)
            """)
        try await db.query(
            """
            UPDATE pool_totals SET employed_share_fen = \(recomputed.employedShareFen), credit_lines_fen = \(recomputed.creditLinesFen),
                loans_outstanding_fen = \(recomputed.loansOutstandingFen)
            """)
        if kept != recomputed { logger.warning("fund pool totals drifted; rebuilt", metadata: ["kept": "\(kept)", "recomputed": "\(recomputed)"]) }
        return Rebuilt(kept: kept, recomputed: recomputed, drift: kept != recomputed)
    }

    struct Handlers: Sendable {
        let runtime: ServiceRuntime

        /// `POST /v1/fund-pool/rebuild` (staff): the totals recomputed from the read models, with any drift.
        @Sendable func rebuild(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let rebuilt = try await runtime.transaction(logger: context.logger) { db in try await FundPool.rebuild(in: db) }
            return try HTTPJSON.response(.ok, rebuilt)
        }

        @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let view = try await runtime.reading(logger: context.logger) { db in try await FundPool.view(in: db) }
            return try HTTPJSON.response(.ok, view)
        }

        struct Entry: Codable, Sendable {
            var kind: String
            var amountFen: Fen
            var reference: String
        }

        /// `POST /v1/fund-pool/entries` (staff): a bank credit line (`credit_line`) or a change of the
        /// employed contributors' share (`employed_share`, signed); queued loans are released at once.
        @Sendable func record(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let entry = try await HTTPJSON.decode(Entry.self, from: request, ranges: ["amountFen": InputRange.poolAdjustmentFen])
            guard entry.kind == "credit_line" || entry.kind == "employed_share" else {
                throw Problem.malformed("kind must be credit_line or employed_share", errors: [.init(field: "kind", message: "credit_line | employed_share")])
            }
            guard entry.amountFen != 0, entry.kind == "employed_share" || entry.amountFen > 0 else {
                throw Problem.malformed(
                    "a credit line is a positive amount; an employed share change is not zero",
                    errors: [.init(field: "amountFen", message: "positive for a credit line, not zero")])
            }
            guard !entry.reference.isEmpty else {
                throw Problem.malformed("a reference is required", errors: [.init(field: "reference", message: "required")])
            }
            struct Recorded: Codable {
                var released: Int
                var pool: View
            }
            let recorded = try await runtime.idempotentTransaction(logger: context.logger) { db -> Recorded in
                // Before the entry changes the totals row (see `release`).
                try await FundPool.holdQueue(in: db)
                try await db.query(
                    """
                    INSERT INTO pool_entries (entry_id, kind, amount_fen, reference) VALUES (\(UUID()), \(entry.kind), \(entry.amountFen), \(entry.reference))
                    """)
                let released = try await FundPool.release(in: db)
                return Recorded(released: released, pool: try await FundPool.view(in: db))
            }
            return try HTTPJSON.response(.created, recorded)
        }
    }
}
