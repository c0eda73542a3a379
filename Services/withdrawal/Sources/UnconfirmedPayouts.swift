import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Payouts the channel never confirmed. A payout instruction is sent once and never again: the
/// money may have left the bank even if its answer was lost, so a second instruction could pay
/// twice. Instead, a payout still unanswered `payoutConfirmationDays` after it was requested is
/// marked unconfirmed (a step in its history) and listed for staff, who chase the channel; its
/// confirmation, whenever it comes, settles it as usual (paid once, or failed and reversed).
struct UnconfirmedPayouts: Sendable {
    let runtime: ServiceRuntime

    struct Summary: Codable, Sendable {
        var asOf: BusinessDate
        var marked = 0
    }

    /// Marks the payouts requested on or before `asOf - payoutConfirmationDays` and still unanswered.
    func run(asOf: BusinessDate) async throws -> Summary {
        let cutoff = asOf.adding(days: -runtime.parameters.payoutConfirmationDays.value(on: asOf))
        let marked = try await runtime.transaction { db in
            let rows = try await db.query(
                """
                WITH marked AS (
                    UPDATE withdrawals SET unconfirmed_since = \(asOf), updated_at = now()
                    WHERE stage = 'paying' AND unconfirmed_since IS NULL AND payout_requested_on <= \(cutoff)
                    RETURNING withdrawal_id)
                INSERT INTO withdrawal_steps (withdrawal_id, stage, code)
                SELECT withdrawal_id, 'paying', 'payout_unconfirmed' FROM marked
                RETURNING withdrawal_id
                """)
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
        return Summary(asOf: asOf, marked: marked)
    }

    struct Item: Codable {
        var withdrawalId: String
        var payoutId: String
        var accountNumber: String
        var amountFen: Fen
        var payoutRequestedOn: BusinessDate
        var unconfirmedSince: BusinessDate
    }

    struct Page: Codable {
        var payouts: [Item]
        var nextAfter: String?
    }

    /// `GET /v1/payouts/unconfirmed` (fund officers, auditors): in payout-id order, `limit` (1-500) and
    /// `after` (a payout id) to page. No payee: staff chase the channel by the payout id.
    @Sendable func list(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let query = QueryInput(request)
        let limit = Int(try query.integer("limit", range: InputRange.pageLimit) ?? 100)
        let after = try query.uuid("after")
        let rows = try await runtime.database.query(
            """
            SELECT withdrawal_id, payout_id, account_number, coalesce(amount_fen, 0), payout_requested_on, unconfirmed_since
            FROM withdrawals
            WHERE stage = 'paying' AND unconfirmed_since IS NOT NULL AND (\(after)::uuid IS NULL OR payout_id > \(after)::uuid)
            ORDER BY payout_id LIMIT \(limit)
            """)
        var items: [Item] = []
        for try await (withdrawal, payout, account, amount, requested, since) in rows.decode((UUID, UUID, String, Int64, BusinessDate, BusinessDate).self) {
            items.append(
                Item(
                    withdrawalId: withdrawal.uuidString.lowercased(), payoutId: payout.uuidString.lowercased(), accountNumber: account,
                    amountFen: amount, payoutRequestedOn: requested, unconfirmedSince: since))
        }
        return try HTTPJSON.response(.ok, Page(payouts: items, nextAfter: items.count == limit ? items.last?.payoutId : nil))
    }
}
