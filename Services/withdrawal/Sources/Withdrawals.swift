import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The withdrawal saga's record: each withdrawal moves through its stages only by guarded
/// updates (`WHERE stage = <expected>`), so a repeated or late event never moves it twice.
///
///     requested --debit-posted--> paying --confirmed paid--> paid
///         |                          `--confirmed failed--> reversing --debit-reversed--> rejected
///         `--debit-refused--> rejected
enum Withdrawals {
    enum Stage: String, Sendable {
        case requested, paying, reversing, paid, rejected

        /// The contract's status: `pending` until the saga ends `paid` or `rejected`.
        var status: String {
            switch self {
            case .requested, .paying, .reversing: "pending"
            case .paid: "paid"
            case .rejected: "rejected"
            }
        }
    }

    struct New: Sendable {
        var id = UUID()
        var account: String
        var reason: WithdrawalReason
        var requestedFen: Fen?
        var closureReason: ClosureReason?
        var payee: Payee
        var evidenceJSON: String
        var evidenceKey: String?
        var requestId: String?
        var fingerprint: String
        var rentPlanId: UUID?
        var planMonth: YearMonth?
    }

    /// Records a new withdrawal and asks the ledger to debit it, in the caller's transaction.
    @discardableResult
    static func create(_ new: New, in db: DatabaseContext) async throws -> Record {
        let today = db.today
        let row = new.id.uuidString.lowercased()
        let payee = try db.runtime.personalData.sealJSON(new.payee, SealedWithdrawalData.payee, row: row)
        let evidence = try db.runtime.personalData.seal(new.evidenceJSON, SealedWithdrawalData.evidence, row: row)
        let rows = try await db.query(
            """
            WITH step AS (INSERT INTO withdrawal_steps (withdrawal_id, stage) VALUES (\(new.id), 'requested'))
            INSERT INTO withdrawals (withdrawal_id, account_number, reason, requested_fen, closure_reason, payee, evidence, evidence_key,
                request_id, fingerprint, rent_plan_id, plan_month, stage, requested_on)
            VALUES (\(new.id), \(new.account), \(new.reason.rawValue), \(new.requestedFen), \(new.closureReason?.rawValue), to_jsonb(\(payee)::text),
                to_jsonb(\(evidence)::text), \(new.evidenceKey), \(new.requestId), \(new.fingerprint), \(new.rentPlanId),
                \(new.planMonth), 'requested', \(today))
            RETURNING \(unescaped: columns)
            """)
        guard let record = try await records(rows).first else { throw Problem.unavailable("the withdrawal was not recorded") }
        let requested = WithdrawalRequested(
            withdrawalId: new.id.uuidString.lowercased(), accountNumber: new.account, reason: new.reason,
            amountFen: new.requestedFen, closureReason: new.closureReason, requestedOn: today,
            rentPlanId: new.rentPlanId?.uuidString.lowercased())
        try await db.emit(.withdrawalRequested, requested, account: new.account)
        return record
    }

    /// A withdrawal as the saga and the read side see it.
    struct Record: Sendable {
        let id: UUID
        let account: String
        let reason: WithdrawalReason
        let requestedFen: Fen?
        let amountFen: Fen?
        let closureReason: ClosureReason?
        /// The payee, sealed (`payee(_:)` opens it).
        let sealedPayee: String
        let stage: Stage
        let code: String?
        let detail: String?
        let payoutId: UUID?
        let payoutOutcome: String?
        let channelRef: String?
        let rentPlanId: UUID?
        let planMonth: YearMonth?
        let requestedOn: String
        let paidOn: String?
        let fingerprint: String

        func payee(_ cipher: PersonalDataCipher) throws -> Payee {
            try cipher.openJSON(Payee.self, sealedPayee, SealedWithdrawalData.payee, row: id.uuidString.lowercased())
        }
    }

    static let columns = """
        withdrawal_id, account_number, reason, requested_fen, amount_fen, closure_reason, payee #>> '{}' AS payee, stage, code, detail, payout_id,
        payout_outcome, channel_ref, rent_plan_id, plan_month, requested_on, paid_on, fingerprint
        """

    static func records(_ rows: PostgresRowSequence) async throws -> [Record] {
        var records: [Record] = []
        for try await row in rows {
            let column = NamedColumns(row, table: "withdrawals")
            records.append(
                Record(
                    id: try column("withdrawal_id"), account: try column("account_number"), reason: try column.stored("reason"),
                    requestedFen: try column("requested_fen"), amountFen: try column("amount_fen"),
                    closureReason: try column.storedIfPresent("closure_reason"), sealedPayee: try column("payee"), stage: try column.stored("stage"),
                    code: try column("code"), detail: try column("detail"), payoutId: try column("payout_id"),
                    payoutOutcome: try column("payout_outcome"), channelRef: try column("channel_ref"), rentPlanId: try column("rent_plan_id"),
                    planMonth: try column("plan_month"), requestedOn: try column("requested_on", as: BusinessDate.self).description,
                    paidOn: try column("paid_on", as: BusinessDate?.self)?.description, fingerprint: try column("fingerprint")))
        }
        return records
    }

    static func load(_ id: UUID, in db: DatabaseContext) async throws -> Record? {
        try await records(
            try await db.query(
                "SELECT \(unescaped: columns) FROM withdrawals WHERE withdrawal_id = \(id)")
        ).first
    }

    /// The withdrawal a payout belongs to, locked for the confirmation's transaction.
    static func lock(payout: UUID, in db: DatabaseContext) async throws -> Record? {
        try await records(
            try await db.query(
                "SELECT \(unescaped: columns) FROM withdrawals WHERE payout_id = \(payout) FOR UPDATE")
        ).first
    }

    /// Moves a withdrawal from `from` to `to` with the given changes; nil when it was not in
    /// `from` (a duplicate or late event, which then changes nothing).
    static func advance(
        _ id: UUID, from: Stage, to: Stage, code: String? = nil, detail: String? = nil, amountFen: Fen? = nil,
        payoutId: UUID? = nil, paidOn: BusinessDate? = nil, in db: DatabaseContext
    ) async throws -> Record? {
        let rows = try await db.query(
            """
            UPDATE withdrawals SET stage = \(to.rawValue), code = coalesce(\(code), code), detail = coalesce(\(detail), detail),
                amount_fen = coalesce(\(amountFen), amount_fen), payout_id = coalesce(\(payoutId), payout_id),
                paid_on = coalesce(\(paidOn), paid_on), updated_at = now()
            WHERE withdrawal_id = \(id) AND stage = \(from.rawValue)
            RETURNING \(unescaped: columns)
            """)
        guard let record = try await records(rows).first else { return nil }
        try await db.query(
            "INSERT INTO withdrawal_steps (withdrawal_id, stage, code) VALUES (\(id), \(to.rawValue), \(code))")
        return record
    }

    /// The saga's end without payment: tells analytics, and pauses a rent plan's month.
    static func reject(_ record: Record, in db: DatabaseContext) async throws {
        let rejected = WithdrawalRejected(
            withdrawalId: record.id.uuidString.lowercased(), accountNumber: record.account, reason: record.reason,
            code: record.code ?? "rejected", detail: record.detail ?? "")
        try await db.emit(.withdrawalRejected, rejected, account: record.account)
        if record.rentPlanId != nil { try await RentPlans.monthFailed(record, in: db) }
    }

}
