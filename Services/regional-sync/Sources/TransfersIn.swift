import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// Transfer in (§17, we are the receiving centre): the person, already enrolled here, asks to
/// bring their account from a partner city. We send the contact letter (the person sealed to the
/// partner's key); the partner accepts or refuses it, then sends the transfer-out data; we check
/// amount = principal + interest, wait for the bank's settlement notice to match it
/// (`TransferSettlements`), ask the ledger to credit it (`transfer-in-accepted`), and once
/// credited record the partner's months as recognised months and confirm to the partner.
struct TransfersIn: Sendable {
    let runtime: ServiceRuntime
    let feed: PartnerFeed
    let registry: PartnerRegistry

    struct Body: Codable, Sendable {
        var accountNumber: String
        var name: String
        var idNumber: String
        var partnerCity: String
        var partnerAccountNumber: String?
    }

    /// `POST /v1/transfers/in`
    @Sendable func start(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(Body.self, from: request)
        try await runtime.authorize(context, account: body.accountNumber)
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 50 else {
            throw Problem.malformed("name is required", errors: [.init(field: "name", message: "1 to 50 characters")])
        }
        guard let id = ResidentID(body.idNumber, asOf: runtime.clock.today) else {
            throw Problem.rule("invalid_id_number", "the resident ID number is not valid (GB 11643)")
        }
        let partner = try registry.partner(body.partnerCity)
        let today = runtime.clock.today
        // The answer is read inside the transaction: an outage after the commit cannot turn a done write into a 503.
        let view = try await runtime.idempotentTransaction(logger: context.logger) { db -> Transfers.View in
            guard try await registry.switches(partner.code, in: db).transfer else {
                throw Problem.rule("transfer_not_enabled", "transfers with \(partner.name) (\(partner.code)) are switched off")
            }
            guard let holder = try await RegionalReadModels.holder(body.accountNumber, in: db) else {
                throw Problem.unknownAccount(body.accountNumber)
            }
            guard holder.personRef == runtime.personRefHasher.ref(id) else {
                throw Problem.rule("person_mismatch", "the account \(body.accountNumber) is not this person's")
            }
            guard holder.status == "active" else { throw Problem.rule("account_not_active", "the account is \(holder.status)") }
            // The name and ID number leave only sealed to the partner's own key.
            guard let recipient = try await registry.recipientKey(partner.code, in: db) else {
                throw Problem.rule(
                    "no_recipient_key", "\(partner.name) (\(partner.code)) has registered no current encryption key: the letter cannot be sealed to it")
            }
            if let open = try await TransferQueries.openTransfer(
                .in, account: body.accountNumber, partner: partner.code, in: db)
            {
                throw Problem.conflict("transfer_in_progress", "transfer \(open) from \(partner.code) is still open for this account")
            }
            let letter = try await nextLetterNumber(on: today, in: db)
            let new = Transfers.New(
                direction: .in, letterNumber: letter, partnerCity: partner.code, account: body.accountNumber,
                personRef: holder.personRef, idNumberMasked: id.masked, partnerAccount: body.partnerAccountNumber,
                state: .letterChecked)
            guard let record = try await Transfers.create(new, in: db) else {
                throw Problem.unavailable("the contact letter number was taken; try again")
            }
            let personal = try PartnerSealing.seal(PersonalFields(name: name, idNumber: id.value), to: recipient, letterNumber: letter)
            let application = TransferApplication(
                letterNumber: letter, receivingCity: feed.ourCity, sendingCity: partner.code, personal: personal,
                receivingAccountNumber: body.accountNumber,
                sendingAccountNumber: body.partnerAccountNumber, appliedOn: today)
            try await feed.send(.transferApplication, application, letter: application.letterNumber, account: body.accountNumber, in: db)
            return try await Transfers.view(record, in: db)
        }
        return try HTTPJSON.response(.created, view)
    }

    /// The next contact letter number of the day (a gapless daily sequence under a row lock).
    func nextLetterNumber(on date: BusinessDate, in db: DatabaseContext) async throws -> String {
        let rows = try await db.query(
            """
            INSERT INTO letter_sequences (day, last) VALUES (\(date), 1)
            ON CONFLICT (day) DO UPDATE SET last = letter_sequences.last + 1 RETURNING last
            """)
        var sequence = 1
        for try await last in rows.decode(Int.self) { sequence = last }
        return ContactLetter.number(receivingCity: feed.ourCity, on: date, sequence: sequence)
    }

    // MARK: the partner's answers

    func ours(
        _ letter: String, receiving: String, sending: String, from partner: String,
        in db: DatabaseContext
    ) async throws -> Transfers.Record {
        try PartnerFeed.requireCities(receiving: receiving, sending: sending, expected: (feed.ourCity, partner))
        return try await Transfers.byLetter(letter, partner: partner, direction: .in, in: db)
    }

    /// State 02: the sending centre took the letter. (After a cancel it stays cancelled.)
    func accepted(_ answer: TransferAnswer, from partner: String, in db: DatabaseContext) async throws {
        let record = try await ours(
            answer.letterNumber, receiving: answer.receivingCity, sending: answer.sendingCity, from: partner,
            in: db)
        try await Transfers.advance(record.id, from: [.letterChecked], to: .letterAccepted, in: db)
    }

    /// State 13: the sending centre will not transfer the account (its code says why).
    func refused(_ answer: TransferAnswer, from partner: String, in db: DatabaseContext) async throws {
        let record = try await ours(
            answer.letterNumber, receiving: answer.receivingCity, sending: answer.sendingCity, from: partner,
            in: db)
        try await Transfers.advance(
            record.id, from: [.letterChecked, .letterAccepted], to: .transferOutRefused,
            code: answer.code ?? "refused", detail: answer.detail, in: db)
    }

    /// The transfer-out data: checked (08, the ledger is asked to credit it) or disputed (06).
    func dataArrived(_ data: TransferOutData, from partner: String, in db: DatabaseContext) async throws {
        let record = try await ours(
            data.letterNumber, receiving: data.receivingCity, sending: data.sendingCity, from: partner,
            in: db)
        if record.state == .cancelled {
            // The partner took the money before it saw our cancel: give it back.
            let outcome = TransferOutcome(
                letterNumber: record.letterNumber, receivingCity: feed.ourCity, sendingCity: partner,
                code: "transfer_cancelled", detail: "the applicant cancelled the transfer")
            return try await feed.send(.transferFailed, outcome, letter: outcome.letterNumber, account: record.account, in: db)
        }
        let open: [TransferState] = [.letterChecked, .letterAccepted, .negotiating]
        if let problem = TransferRules.transferOutDataProblem(
            principalFen: data.principalFen, interestFen: data.interestFen,
            amountFen: data.amountFen)
        {
            guard
                let disputed = try await Transfers.advance(
                    record.id, from: open, to: .negotiating, code: problem.code, detail: problem.detail,
                    in: db)
            else { return }
            let outcome = TransferOutcome(
                letterNumber: disputed.letterNumber, receivingCity: feed.ourCity, sendingCity: partner,
                code: problem.code, detail: problem.detail)
            return try await feed.send(.transferDisputed, outcome, letter: outcome.letterNumber, account: disputed.account, in: db)
        }
        let outData = String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        guard
            let checked = try await Transfers.advance(
                record.id, from: open, to: .accountDataChecked, code: nil,
                amounts: (data.principalFen, data.interestFen, data.amountFen), outData: outData,
                in: db)
        else { return }
        // The credit waits for the bank's settlement notice (which may have come first).
        try await TransferSettlements(runtime: runtime, feed: feed, registry: registry).reconcile(checked, in: db)
    }

    // MARK: the ledger's answer

    /// Credited: the partner's months are recognised (when that exchange is on) and we confirm (00).
    func credited(_ posted: TransferInPosted, in db: DatabaseContext) async throws {
        guard let id = UUID(uuidString: posted.transferId),
            let done = try await Transfers.advance(
                id, from: [.accountDataChecked], to: .completed, in: db)
        else { return }
        let months = try await db.query("SELECT out_data FROM transfers WHERE transfer_id = \(id)")
        var data: TransferOutData?
        for try await json in months.decode(String.self) { data = try? JSONDecoder().decode(TransferOutData.self, from: Data(json.utf8)) }
        if let data, try await registry.switches(done.partnerCity, in: db).recognition {
            try await RecognisedMonths.record(
                data.contributionMonths, account: done.account, partner: done.partnerCity, transfer: done.id,
                in: db)
        }
        let outcome = TransferOutcome(
            letterNumber: done.letterNumber, receivingCity: feed.ourCity, sendingCity: done.partnerCity,
            creditedFen: posted.amountFen)
        try await feed.send(.transferConfirmed, outcome, letter: outcome.letterNumber, account: done.account, in: db)
    }

    /// The ledger could not take it (the account closed meanwhile): failed (40); the partner gives the money back.
    func creditRefused(_ refused: TransferInRefused, in db: DatabaseContext) async throws {
        guard let id = UUID(uuidString: refused.transferId),
            let failed = try await Transfers.advance(
                id, from: [.accountDataChecked], to: .failed, code: refused.code, detail: refused.detail,
                in: db)
        else { return }
        let outcome = TransferOutcome(
            letterNumber: failed.letterNumber, receivingCity: feed.ourCity, sendingCity: failed.partnerCity,
            code: refused.code, detail: refused.detail)
        try await feed.send(.transferFailed, outcome, letter: outcome.letterNumber, account: failed.account, in: db)
    }
}
