import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Ending a transfer before its partner finishes it: the applicant cancels a letter the partner has
/// not taken (01 -> 05); staff fail a transfer the partner left hanging (no answer, or negotiation,
/// state 06, that went nowhere: 40); a daily job does either for transfers unanswered too long.
/// The partner is always told. For a transfer out whose balance has already left, the ledger
/// reverses the debit and the account is active again; for a transfer in nothing was credited,
/// and the partner gives back what it took.
struct TransferResolution: Sendable {
    let runtime: ServiceRuntime
    let feed: PartnerFeed

    struct Body: Codable, Sendable {
        var code: String
        var detail: String?
    }

    /// A transfer in that the partner has not taken is cancelled by the applicant instead (01);
    /// one still waiting for its funds (08) can fail, but once the ledger has been asked to
    /// credit it, it ends with the ledger's answer (`advance(awaitingCredit:)`).
    static func failable(_ direction: Transfers.Direction) -> [TransferState] {
        direction == .in ? [.letterAccepted, .accountDataChecked, .negotiating] : [.accountDataChecked, .negotiating]
    }

    /// Cancels a transfer in that is still in 01 (05), telling the partner; nil in any other state.
    func cancel(_ record: Transfers.Record, code: String, detail: String?, in db: DatabaseContext) async throws -> Transfers.Record? {
        guard record.direction == .in,
            let cancelled = try await Transfers.advance(
                record.id, from: [.letterChecked], to: .cancelled, code: code, detail: detail,
                in: db)
        else { return nil }
        let outcome = TransferOutcome(
            letterNumber: cancelled.letterNumber, receivingCity: feed.ourCity, sendingCity: cancelled.partnerCity,
            code: code, detail: detail)
        try await feed.send(.transferCancelled, outcome, letter: cancelled.letterNumber, account: cancelled.account, in: db)
        return cancelled
    }

    /// `POST /v1/transfers/{transferId}/cancel`: only while the letter is in state 01 (the partner
    /// has not taken it yet).
    @Sendable func cancelRequest(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let id = try TransferQueries.transferID(context)
        // The answer is read inside the transaction: an outage after the commit cannot turn a done write into a 503.
        let view = try await runtime.idempotentTransaction(logger: context.logger) { db -> Transfers.View in
            guard let current = try await Transfers.load(id, in: db), current.direction == .in else {
                throw Problem.notFound("unknown_transfer", "no transfer in \(id)")
            }
            try await runtime.authorize(
                context, account: current.account, in: db,
                notFound: Problem.notFound("unknown_transfer", "no transfer in \(id)"))
            guard let cancelled = try await cancel(current, code: "cancelled_by_applicant", detail: nil, in: db) else {
                throw Problem.conflict(
                    "transfer_not_cancellable",
                    "the transfer is in state \(current.state.rawValue) (\(current.state.name)); cancel only in 01")
            }
            return try await Transfers.view(cancelled, in: db)
        }
        return try HTTPJSON.response(.ok, view)
    }

    /// Fails `record` (40) if it is in a failable state, telling the partner; a transfer out's
    /// debit is reversed by the ledger. Nil when the state does not allow it.
    func end(_ record: Transfers.Record, code: String, detail: String?, in db: DatabaseContext) async throws -> Transfers.Record? {
        guard
            let failed = try await Transfers.advance(
                record.id, from: Self.failable(record.direction), to: .failed, code: code, detail: detail,
                awaitingCredit: record.direction == .in, in: db)
        else { return nil }
        let ours = feed.ourCity
        let outcome = TransferOutcome(
            letterNumber: failed.letterNumber, receivingCity: failed.direction == .in ? ours : failed.partnerCity,
            sendingCity: failed.direction == .in ? failed.partnerCity : ours, code: code, detail: detail)
        try await feed.send(.transferFailed, outcome, letter: failed.letterNumber, account: failed.account, in: db)
        if failed.direction == .out {
            try await db.emit(.transferOutFailed, failed.outStep(on: runtime.clock.today, code: code), account: failed.account)
        }
        return failed
    }

    struct Expired: Codable, Sendable {
        var asOf: BusinessDate
        var cancelled: Int
        var failed: Int
    }

    /// The daily job: transfers the partner has not moved on for `transferAnswerDays` end — a
    /// letter still in 01 is cancelled (05), the rest fail (40) — with code `partner_no_answer`,
    /// or `funds_not_received` for a transfer in whose data came but whose money did not.
    /// `partnerCity`: only that partner's transfers (an operator chasing one city); all when nil.
    func expire(asOf date: BusinessDate, partnerCity: String? = nil) async throws -> Expired {
        let cutoff = date.adding(days: -runtime.parameters.transferAnswerDays.value(on: date))
        // What the job can end: a letter still in 01 is cancelled, the rest is failed.
        let waitingIn = ([TransferState.letterChecked] + Self.failable(.in)).map(\.rawValue)
        let waitingOut = Self.failable(.out).map(\.rawValue)
        let stale = try await runtime.reading { db in
            try await Transfers.records(
                try await db.query(
                    """
                    SELECT \(unescaped: Transfers.columns) FROM transfers
                    WHERE ((direction = 'in' AND state = ANY(\(waitingIn)) AND credit_requested_at IS NULL) OR (direction = 'out' AND state = ANY(\(waitingOut))))
                      AND state_since < \(cutoff) AND (\(partnerCity)::text IS NULL OR partner_city = \(partnerCity))
                    """))
        }
        var summary = Expired(asOf: date, cancelled: 0, failed: 0)
        for record in stale {
            // A transfer in whose data checked out waits for the money, not for an answer.
            let noFunds = record.direction == .in && record.state == .accountDataChecked
            let code = noFunds ? "funds_not_received" : "partner_no_answer"
            let detail =
                noFunds ? "no settlement from \(record.partnerCity) since before \(cutoff)" : "no answer from \(record.partnerCity) since before \(cutoff)"
            try await runtime.transaction { db in
                if try await cancel(record, code: code, detail: detail, in: db) != nil {
                    summary.cancelled += 1
                } else if try await end(record, code: code, detail: detail, in: db) != nil {
                    summary.failed += 1
                }
            }
        }
        return summary
    }

    /// `POST /v1/transfers/{transferId}/failure` (staff)
    @Sendable func fail(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let id = try TransferQueries.transferID(context)
        let body = try await HTTPJSON.decode(Body.self, from: request)
        guard !body.code.isEmpty, body.code.count <= 64 else {
            throw Problem.malformed("code is required", errors: [.init(field: "code", message: "1 to 64 characters")])
        }
        let view = try await runtime.transaction(logger: context.logger) { db -> Transfers.View in
            guard let current = try await Transfers.load(id, in: db) else {
                throw Problem.notFound("unknown_transfer", "no transfer \(id)")
            }
            guard let failed = try await end(current, code: body.code, detail: body.detail, in: db) else {
                throw Problem.conflict(
                    "transfer_not_failable",
                    "the transfer is in state \(current.state.rawValue) (\(current.state.name)); staff can fail it only in \(Self.failable(current.direction).map(\.rawValue).joined(separator: " or "))"
                )
            }
            return try await Transfers.view(failed, in: db)
        }
        return try HTTPJSON.response(.ok, view)
    }
}
