import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §19 资金池: flexible contributors share the pool with employed contributors. The pool is the
/// flexible balances (from the ledger's events), the employed contributors' share and bank credit
/// lines (recorded by staff); loans paid out draw on it. An approval that would leave less than
/// the liquidity floor waits (`awaiting_liquidity`) until staff record more or the pool grows.
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

    static func view(runtime: ServiceRuntime, connection: PostgresConnection) async throws -> View {
        let rows = try await connection.query("""
            SELECT (SELECT coalesce(sum(balance_fen), 0) FROM ledger_accounts)::bigint,
                   (SELECT coalesce(sum(amount_fen), 0) FROM pool_entries WHERE kind = 'employed_share')::bigint,
                   (SELECT coalesce(sum(amount_fen), 0) FROM pool_entries WHERE kind = 'credit_line')::bigint,
                   (SELECT coalesce(sum(outstanding_fen), 0) FROM loans WHERE status = 'active')::bigint,
                   (SELECT count(*) FROM loans WHERE status = 'awaiting_liquidity')::int,
                   (SELECT coalesce(sum(principal_fen), 0) FROM loans WHERE status = 'awaiting_liquidity')::bigint
            """, logger: runtime.logger)
        for try await (flexible, employed, credit, outstanding, waiting, waitingFen) in rows.decode((Int64, Int64, Int64, Int64, Int, Int64).self) {
            // Checked: entries are bounded one by one (`InputRange`), but their sums are not.
            let assets = try Checked.add(try Checked.add(flexible, employed), credit)
            return View(flexibleBalancesFen: flexible, employedShareFen: employed, creditLinesFen: credit, assetsFen: assets,
                        loansOutstandingFen: outstanding, availableFen: try Checked.subtract(assets, outstanding),
                        liquidityFloorFen: try Checked.basisPoints(assets, runtime.parameters.liquidityFloorBasisPoints.value),
                        awaitingLiquidity: waiting, awaitingLiquidityFen: waitingFen)
        }
        throw Problem.unavailable("the fund pool could not be read")
    }

    /// Whether lending `amount` keeps the pool above its liquidity floor. Serialised on one lock so
    /// two approvals cannot both take the last of the liquidity.
    static func canLend(_ amount: Fen, runtime: ServiceRuntime, connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('loan-fund-pool'))", logger: runtime.logger)
        let pool = try await view(runtime: runtime, connection: connection)
        return try Checked.subtract(pool.availableFen, amount) >= pool.liquidityFloorFen
    }

    /// Pays out queued loans, oldest first, while liquidity allows.
    static func release(runtime: ServiceRuntime, connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("""
            SELECT loan_id, principal_fen FROM loans WHERE status = 'awaiting_liquidity' ORDER BY queued_at FOR UPDATE
            """, logger: runtime.logger)
        var queued: [(UUID, Int64)] = []
        for try await row in rows.decode((UUID, Int64).self) { queued.append(row) }
        var released = 0
        for (id, principal) in queued {
            guard try await canLend(principal, runtime: runtime, connection: connection) else { break }
            try await Loans.disburse(id, runtime: runtime, connection: connection)
            released += 1
        }
        return released
    }

    struct Handlers: Sendable {
        let runtime: ServiceRuntime

        @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let view = try await runtime.database.withConnection { connection in try await FundPool.view(runtime: runtime, connection: connection) }
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
                throw Problem.malformed("a credit line is a positive amount; an employed share change is not zero",
                                        errors: [.init(field: "amountFen", message: "positive for a credit line, not zero")])
            }
            guard !entry.reference.isEmpty else {
                throw Problem.malformed("a reference is required", errors: [.init(field: "reference", message: "required")])
            }
            struct Recorded: Codable {
                var released: Int
                var pool: View
            }
            let recorded = try await runtime.idempotentTransaction { connection -> Recorded in
                try await connection.query("""
                    INSERT INTO pool_entries (entry_id, kind, amount_fen, reference) VALUES (\(UUID()), \(entry.kind), \(entry.amountFen), \(entry.reference))
                    """, logger: runtime.logger)
                let released = try await FundPool.release(runtime: runtime, connection: connection)
                return Recorded(released: released, pool: try await FundPool.view(runtime: runtime, connection: connection))
            }
            return try HTTPJSON.response(.created, recorded)
        }
    }
}
