import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Transfer in, the money (§17): the partner's transfer-out data says what it moved, but on the
/// national platform the money itself moves between the two centres' bank accounts, and the
/// receiving centre credits the person only once the funds have arrived. So a transfer in whose
/// data checked out (08) waits for the receiving bank's settlement notice (a signed request from
/// the `bank` channel); the ledger is asked to credit only when notice and data agree to the fen.
/// A notice that disagrees sends the transfer to negotiation (06), the partner told; no funds
/// within the answer window fail it (40) through the unanswered-transfer job.
struct TransferSettlements: Sendable {
    let runtime: ServiceRuntime
    let feed: PartnerFeed
    let registry: PartnerRegistry

    /// The bank's notice: the partner centre named in the letter paid `amountFen` for it.
    struct Notice: Codable, Sendable {
        var letterNumber: String
        var sendingCity: String
        var amountFen: Fen
        /// The bank's own reference for the credit (unique; a repeat of the same notice changes nothing).
        var bankReference: String
    }

    /// `POST /v1/transfers/settlements` (the `bank` channel).
    @Sendable func notice(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(Notice.self, from: request)
        var errors: [Problem.FieldError] = []
        if !ContactLetter.isValid(body.letterNumber) { errors.append(.init(field: "letterNumber", message: "20 digits")) }
        if body.amountFen <= 0 { errors.append(.init(field: "amountFen", message: "more than 0")) }
        if !(1...64).contains(body.bankReference.count) || !body.bankReference.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        {
            errors.append(.init(field: "bankReference", message: "1 to 64 of A-Z a-z 0-9 - _ ."))
        }
        guard errors.isEmpty else { throw Problem.malformed("some fields are invalid", errors: errors) }
        let partner = try registry.partner(body.sendingCity)
        let view = try await runtime.transaction(logger: context.logger) { db -> Transfers.View in
            // The row lock orders this notice against the transfer-out data arriving at the same
            // moment: whichever commits second sees the other and asks for the credit.
            guard
                let record = try await Transfers.records(
                    try await db.query(
                        """
                        SELECT \(unescaped: Transfers.columns) FROM transfers
                        WHERE direction = 'in' AND partner_city = \(partner.code) AND letter_number = \(body.letterNumber) FOR UPDATE
                        """)
                ).first
            else {
                throw Problem.notFound("unknown_transfer", "no transfer in with letter \(body.letterNumber) from \(partner.code)")
            }
            try await runtime.authorize(context, account: record.account, in: db)
            var recorded: (reference: String, amount: Fen)?
            for try await (reference, amount) in try await db.query(
                """
                SELECT bank_reference, amount_fen FROM transfer_settlements WHERE transfer_id = \(record.id)
                """
            ).decode((String, Int64).self) { recorded = (reference, amount) }
            if let recorded {
                guard recorded.reference == body.bankReference, recorded.amount == body.amountFen else {
                    throw Problem.conflict(
                        "settlement_already_received", "letter \(body.letterNumber) was already settled under another bank reference or amount")
                }
                return try await Transfers.view(record, in: db)
            }
            var inserted = false
            for try await _ in try await db.query(
                """
                INSERT INTO transfer_settlements (bank_reference, transfer_id, amount_fen) VALUES (\(body.bankReference), \(record.id), \(body.amountFen))
                ON CONFLICT (bank_reference) DO NOTHING RETURNING 1
                """)
            { inserted = true }
            guard inserted else { throw Problem.conflict("bank_reference_taken", "bank reference \(body.bankReference) settled another letter") }
            if record.state.isFinal {
                // Funds for a transfer that ended: kept on record (the view shows them) for staff to return.
                db.logger.warning("funds arrived for an ended transfer in", metadata: ["transfer": "\(record.id)", "state": "\(record.state.rawValue)"])
            }
            let current = try await reconcile(record, in: db) ?? record
            return try await Transfers.view(current, in: db)
        }
        return try HTTPJSON.response(.ok, view)
    }

    /// Once a transfer in's data has checked out (08) and its funds have arrived: equal amounts
    /// ask the ledger to credit it (once: `credit_requested_at`), unequal ones go to negotiation
    /// (06). Waiting for either changes nothing. Returns the transfer when it changed.
    @discardableResult
    func reconcile(_ record: Transfers.Record, in db: DatabaseContext) async throws -> Transfers.Record? {
        guard record.direction == .in, record.state == .accountDataChecked, let amount = record.amountFen else { return nil }
        var funds: Fen?
        for try await received in try await db.query(
            "SELECT amount_fen FROM transfer_settlements WHERE transfer_id = \(record.id)"
        ).decode(Int64.self) { funds = received }
        guard let funds else { return nil }
        guard funds == amount else {
            let detail = "the bank received \(funds) fen for the letter; the transfer-out data says \(amount) fen"
            guard
                let disputed = try await Transfers.advance(
                    record.id, from: [.accountDataChecked], to: .negotiating, code: "settlement_mismatch",
                    detail: detail, awaitingCredit: true, in: db)
            else { return nil }
            let outcome = TransferOutcome(
                letterNumber: disputed.letterNumber, receivingCity: feed.ourCity, sendingCity: disputed.partnerCity,
                code: "settlement_mismatch", detail: detail)
            try await feed.send(.transferDisputed, outcome, letter: outcome.letterNumber, account: disputed.account, in: db)
            return disputed
        }
        var first = false
        for try await _ in try await db.query(
            """
            UPDATE transfers SET credit_requested_at = now() WHERE transfer_id = \(record.id) AND state = '08' AND credit_requested_at IS NULL RETURNING 1
            """)
        { first = true }
        guard first else { return nil }
        let accepted = TransferInAccepted(
            transferId: record.id.uuidString.lowercased(), accountNumber: record.account,
            letterNumber: record.letterNumber, sendingCity: record.partnerCity, principalFen: record.principalFen ?? amount,
            interestFen: record.interestFen ?? 0, amountFen: amount, acceptedOn: runtime.clock.today)
        try await db.emit(.transferInAccepted, accepted, account: record.account)
        return record
    }
}
