import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The transfer record (§17): one row per transfer in or out, moved through the national
/// platform's state codes only by guarded updates (`WHERE state = ANY(<expected>)`), so a late or
/// repeated message never moves it twice. Every state it enters is kept in `transfer_steps` and
/// published as `transfer-state-changed` for analytics.
///
///     in:  01 --accepted--> 02 --data checks--> 08 --funds arrive and match, ledger credited--> 00
///           |  `--cancel--> 05  |   `--data does not check--> 06 <--funds disagree-- 08
///           `--refused--> 13 <--'      06 --corrected data--> 08    08 --ledger refused, or no funds--> 40
///     out: (letter checks) 02 --ledger debited, bank paid, data sent--> 08 --confirmed--> 00
///           `--> 13 (refused, the ledger refused the debit, or the payout failed)   08 --failed--> 40 (reversed)
enum Transfers {
    enum Direction: String, Sendable { case `in`, out }

    struct Record: Sendable {
        let id: UUID
        let direction: Direction
        let letterNumber: String
        let partnerCity: String
        let account: String
        let personRef: String
        let idNumberMasked: String
        let partnerAccount: String?
        let state: TransferState
        let code: String?
        let detail: String?
        let principalFen: Fen?
        let interestFen: Fen?
        let amountFen: Fen?
        let createdOn: String
    }

    static let columns = """
        transfer_id, direction, letter_number, partner_city, account_number, person_ref, id_number_masked, partner_account_number,
        state, code, detail, principal_fen, interest_fen, amount_fen, created_on
        """

    static func records(_ rows: PostgresRowSequence) async throws -> [Record] {
        var out: [Record] = []
        for try await row in rows {
            let column = NamedColumns(row, table: "transfers")
            out.append(
                Record(
                    id: try column("transfer_id"), direction: try column.stored("direction"), letterNumber: try column("letter_number"),
                    partnerCity: try column("partner_city"), account: try column("account_number"), personRef: try column("person_ref"),
                    idNumberMasked: try column("id_number_masked"), partnerAccount: try column("partner_account_number"),
                    state: try column.stored("state"), code: try column("code"), detail: try column("detail"),
                    principalFen: try column("principal_fen"), interestFen: try column("interest_fen"), amountFen: try column("amount_fen"),
                    createdOn: try column("created_on", as: BusinessDate.self).description))
        }
        return out
    }

    struct New: Sendable {
        var id = UUID()
        var direction: Direction
        var letterNumber: String
        var partnerCity: String
        var account: String
        var personRef: String
        var idNumberMasked: String
        var partnerAccount: String?
        var state: TransferState
        var code: String?
        var detail: String?
    }

    /// Records a new transfer in its first state; nil when one with the same letter exists.
    static func create(_ new: New, in db: DatabaseContext) async throws -> Record? {
        let today = db.today
        let rows = try await db.query(
            """
            INSERT INTO transfers (transfer_id, direction, letter_number, partner_city, account_number, person_ref, id_number_masked,
                partner_account_number, state, code, detail, created_on, state_since)
            VALUES (\(new.id), \(new.direction.rawValue), \(new.letterNumber), \(new.partnerCity), \(new.account), \(new.personRef),
                \(new.idNumberMasked), \(new.partnerAccount), \(new.state.rawValue), \(new.code), \(new.detail), \(today),
                \(today))
            ON CONFLICT (direction, partner_city, letter_number) DO NOTHING
            RETURNING \(unescaped: columns)
            """)
        guard let record = try await records(rows).first else { return nil }
        try await stepped(record, in: db)
        return record
    }

    /// Moves a transfer from one of `from` to `to`; nil (and nothing changes) when it is not in
    /// one of them, or (`awaitingCredit`) when the ledger has already been asked to credit it.
    @discardableResult
    static func advance(
        _ id: UUID, from: [TransferState], to: TransferState, code: String? = nil, detail: String? = nil,
        amounts: (principal: Fen, interest: Fen, amount: Fen)? = nil, outData: String? = nil, awaitingCredit: Bool = false,
        in db: DatabaseContext
    ) async throws -> Record? {
        let rows = try await db.query(
            """
            UPDATE transfers SET state = \(to.rawValue), code = coalesce(\(code), code), detail = coalesce(\(detail), detail),
                principal_fen = coalesce(\(amounts?.principal), principal_fen), interest_fen = coalesce(\(amounts?.interest), interest_fen),
                amount_fen = coalesce(\(amounts?.amount), amount_fen), out_data = coalesce(\(outData)::jsonb, out_data), updated_at = now(),
                state_since = \(db.today)
            WHERE transfer_id = \(id) AND state = ANY(\(from.map(\.rawValue))) AND (NOT \(awaitingCredit) OR credit_requested_at IS NULL)
            RETURNING \(unescaped: columns)
            """)
        guard let record = try await records(rows).first else { return nil }
        try await stepped(record, in: db)
        return record
    }

    private static func stepped(_ record: Record, in db: DatabaseContext) async throws {
        try await db.query(
            "INSERT INTO transfer_steps (transfer_id, state, code) VALUES (\(record.id), \(record.state.rawValue), \(record.code))")
        let changed = TransferStateChanged(
            transferId: record.id.uuidString.lowercased(), accountNumber: record.account,
            direction: record.direction == .in ? .in : .out, letterNumber: record.letterNumber,
            partnerCity: record.partnerCity, state: record.state, code: record.code, on: db.today)
        try await db.emit(.transferStateChanged, changed, account: record.account)
    }

    /// Records what a transfer moves (amounts and the transfer-out data) while it stays in `state`.
    static func recordAmounts(
        _ id: UUID, in state: TransferState, amounts: (principal: Fen, interest: Fen, amount: Fen), outData: String,
        in db: DatabaseContext
    ) async throws -> Record? {
        try await records(
            try await db.query(
                """
                UPDATE transfers SET principal_fen = \(amounts.principal), interest_fen = \(amounts.interest), amount_fen = \(amounts.amount),
                    out_data = \(outData)::jsonb, updated_at = now()
                WHERE transfer_id = \(id) AND state = \(state.rawValue)
                RETURNING \(unescaped: columns)
                """)
        ).first
    }

    static func load(_ id: UUID, in db: DatabaseContext) async throws -> Record? {
        try await records(try await db.query("SELECT \(unescaped: columns) FROM transfers WHERE transfer_id = \(id)")).first
    }

    /// The transfer a partner message names (by its letter), locked for the message's
    /// transaction, or a rejection to the dead-letter topic: a message about a letter we do not
    /// hold changes nothing. Locked because the handler decides on its state: read without the
    /// lock, a cancel or a failure committing meanwhile went unseen, and transfer-out data that
    /// met the applicant's cancel was dropped instead of answered (the partner kept the money).
    /// With it, the message waits for the other change and sees its outcome.
    static func byLetter(
        _ letter: String, partner: String, direction: Direction, in db: DatabaseContext
    ) async throws -> Record {
        let rows = try await db.query(
            """
            SELECT \(unescaped: columns) FROM transfers
            WHERE direction = \(direction.rawValue) AND partner_city = \(partner) AND letter_number = \(letter)
            FOR UPDATE
            """)
        guard let record = try await records(rows).first else {
            throw EventRejection(detail: "no transfer \(direction.rawValue) with letter \(letter) from or to \(partner)")
        }
        return record
    }

    struct Step: Codable, Sendable {
        var state: String
        var stateName: String
        var code: String?
        var at: String
    }

    struct View: Codable, Sendable {
        var transferId: String
        var direction: String
        var letterNumber: String
        var partnerCity: String
        var accountNumber: String
        var idNumberMasked: String
        var partnerAccountNumber: String?
        var state: String
        var stateName: String
        var code: String?
        var detail: String?
        var principalFen: Fen?
        var interestFen: Fen?
        var amountFen: Fen?
        var createdOn: String
        /// Transfer in: the bank's notice that the partner's funds arrived (the credit waits for it).
        var settlement: Settlement?
        /// Transfer out: our bank's payout of the balance to the receiving centre.
        var payout: Payout?
        var steps: [Step]
    }

    struct Settlement: Codable, Sendable {
        var amountFen: Fen
        var bankReference: String
        var receivedAt: String
    }

    struct Payout: Codable, Sendable {
        var payoutId: String
        var amountFen: Fen
        /// `requested` until the bank confirms `paid` or `failed`.
        var status: String
        var channelRef: String?
        var failureCode: String?
    }

    static func view(_ record: Record, in db: DatabaseContext) async throws -> View {
        try await views([record], in: db)[0]
    }

    /// The views of several transfers, their steps read in one query.
    static func views(_ records: [Record], in db: DatabaseContext) async throws -> [View] {
        guard !records.isEmpty else { return [] }
        var steps: [UUID: [Step]] = [:]
        for try await (id, state, code, at) in try await db.query(
            """
            SELECT transfer_id, state, code, at FROM transfer_steps WHERE transfer_id = ANY(\(records.map(\.id))) ORDER BY at
            """
        ).decode((UUID, String, String?, Date).self) {
            steps[id, default: []].append(
                Step(
                    state: state, stateName: TransferState(rawValue: state)?.name ?? state, code: code,
                    at: Instant.format(at)))
        }
        let ids = records.map(\.id)
        var settlements: [UUID: Settlement] = [:]
        for try await (id, reference, amount, at) in try await db.query(
            """
            SELECT transfer_id, bank_reference, amount_fen, received_at FROM transfer_settlements WHERE transfer_id = ANY(\(ids))
            """
        ).decode((UUID, String, Int64, Date).self) {
            settlements[id] = Settlement(amountFen: amount, bankReference: reference, receivedAt: Instant.format(at))
        }
        var payouts: [UUID: Payout] = [:]
        for try await (id, payout, amount, outcome, ref, failure) in try await db.query(
            """
            SELECT transfer_id, payout_id, amount_fen, outcome, channel_ref, failure_code FROM transfer_payouts WHERE transfer_id = ANY(\(ids))
            """
        ).decode((UUID, UUID, Int64, String?, String?, String?).self) {
            payouts[id] = Payout(
                payoutId: payout.uuidString.lowercased(), amountFen: amount, status: outcome ?? "requested", channelRef: ref,
                failureCode: failure)
        }
        return records.map { view($0, steps: steps[$0.id] ?? [], settlement: settlements[$0.id], payout: payouts[$0.id]) }
    }

    private static func view(_ record: Record, steps: [Step], settlement: Settlement?, payout: Payout?) -> View {
        View(
            transferId: record.id.uuidString.lowercased(), direction: record.direction.rawValue, letterNumber: record.letterNumber,
            partnerCity: record.partnerCity, accountNumber: record.account, idNumberMasked: record.idNumberMasked,
            partnerAccountNumber: record.partnerAccount, state: record.state.rawValue, stateName: record.state.name,
            code: record.code, detail: record.detail, principalFen: record.principalFen, interestFen: record.interestFen,
            amountFen: record.amountFen, createdOn: record.createdOn, settlement: settlement, payout: payout, steps: steps)
    }
}

extension Transfers.Record {
    /// This transfer out as the ledger's saga sees it (requested, completed or failed).
    func outStep(on date: BusinessDate, code: String? = nil) -> TransferOutStep {
        TransferOutStep(
            transferId: id.uuidString.lowercased(), accountNumber: account, letterNumber: letterNumber, receivingCity: partnerCity,
            on: date, code: code)
    }
}
