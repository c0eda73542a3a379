import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Transfer out (§17, we are the sending centre): a partner city's contact letter arrives; we
/// check it against our read models (the account is the person's, no unsettled HPF loan, no
/// withdrawal in flight) and refuse it (13) or accept it (02) and ask the ledger to debit the
/// whole balance (the same debit saga as a closure, kind `transfer_out`). Once debited our bank
/// pays it to the receiving centre; once paid we send the transfer-out data (08); the partner's
/// confirmation closes the account (00), its failure makes the ledger give the money back (40).
struct TransfersOut: Sendable {
    let runtime: ServiceRuntime
    let feed: PartnerFeed
    let registry: PartnerRegistry

    func applied(_ letter: TransferApplication, from partner: String, in db: DatabaseContext) async throws {
        try PartnerFeed.requireCities(receiving: letter.receivingCity, sending: letter.sendingCity, expected: (partner, feed.ourCity))
        guard ContactLetter.isValid(letter.letterNumber) else { throw EventRejection(detail: "letter number \(letter.letterNumber) is malformed") }
        let person = try feed.personalFields(of: letter)
        guard let id = ResidentID(person.idNumber) else { throw EventRejection(detail: "the letter's resident ID number is not valid") }
        let personRef = runtime.personRefHasher.ref(id)
        // The account the letter names, or else the person's own account here.
        var account = letter.sendingAccountNumber
        if account == nil { account = try await RegionalReadModels.account(of: personRef, in: db) }
        var holder: RegionalReadModels.Holder?
        if let account { holder = try await RegionalReadModels.holder(account, in: db) }
        var facts = TransferRules.TransferOutFacts(
            exchangeEnabled: try await registry.switches(partner, in: db).transfer, accountFound: holder != nil,
            personMatches: holder?.personRef == personRef, accountStatus: holder?.status ?? "unknown",
            unsettledHpfLoan: false, pendingWithdrawal: false, transferAlreadyOpen: false)
        if let account, holder != nil {
            facts.unsettledHpfLoan = try await RegionalReadModels.loanFlags(account, in: db).unsettled
            facts.pendingWithdrawal = try await RegionalReadModels.hasPendingWithdrawal(account, in: db)
            facts.transferAlreadyOpen =
                try await TransferQueries.openTransfer(
                    .out, account: account, partner: nil, in: db) != nil
        }
        let refusal = TransferRules.transferOutRefusal(facts)
        let new = Transfers.New(
            direction: .out, letterNumber: letter.letterNumber, partnerCity: partner, account: account ?? "unmatched",
            personRef: personRef, idNumberMasked: id.masked, partnerAccount: letter.receivingAccountNumber,
            state: refusal == nil ? .letterAccepted : .transferOutRefused, code: refusal?.code, detail: refusal?.detail)
        // The same letter again (a new message id): the first answer stands.
        guard let record = try await Transfers.create(new, in: db) else { return }
        var answer = TransferAnswer(letterNumber: letter.letterNumber, receivingCity: partner, sendingCity: feed.ourCity)
        if let refusal {
            answer.code = refusal.code
            answer.detail = refusal.detail
            return try await feed.send(.transferRefused, answer, letter: answer.letterNumber, account: record.account, in: db)
        }
        try await feed.send(.transferAccepted, answer, letter: answer.letterNumber, account: record.account, in: db)
        try await db.emit(.transferOutRequested, record.outStep(on: runtime.clock.today), account: record.account)
    }

    // MARK: the ledger's answer

    /// The whole balance is debited: the transfer-out data is written down and our bank asked to pay it.
    func debited(_ debit: DebitPosted, in db: DatabaseContext) async throws {
        guard debit.kind == .transferOut, let id = UUID(uuidString: debit.debitId) else { return }
        guard let current = try await Transfers.load(id, in: db) else { return }
        let months = try await RegionalReadModels.months(debit.accountNumber, in: db)
        let opened = try await RegionalReadModels.openedOn(debit.accountNumber, in: db)
        let paidUpTo = months.max()
        let loans = try await RegionalReadModels.loanFlags(debit.accountNumber, in: db)
        // Amount = principal + interest (§17): the interest is what the ledger settled for the
        // open interest year just before the debit; interest of earlier years is principal now.
        let interest = min(max(debit.interestFen ?? 0, 0), debit.amountFen)
        let data = TransferOutData(
            letterNumber: current.letterNumber, receivingCity: current.partnerCity, sendingCity: feed.ourCity,
            sendingAccountNumber: debit.accountNumber, principalFen: debit.amountFen - interest, interestFen: interest, amountFen: debit.amountFen,
            openedMonth: (opened ?? debit.postedOn).yearMonth, paidUpToMonth: paidUpTo,
            lastSixMonthsContinuous: TransferRules.continuous(
                months: Set(months), paidUpTo: paidUpTo,
                window: runtime.parameters.transferContinuityMonths.value(on: runtime.clock.today)),
            contributionMonths: months.sorted(), hadHpfLoan: loans.had, hasUnsettledHpfLoan: loans.unsettled, sentOn: runtime.clock.today)
        let outData = String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        // The data waits for the money: our bank pays the balance to the receiving centre first
        // (`TransferPayouts`), and the data goes out with state 08 once it is paid.
        guard
            let debited = try await Transfers.recordAmounts(
                id, in: .letterAccepted, amounts: (debit.amountFen - interest, interest, debit.amountFen),
                outData: outData, in: db)
        else { return }
        try await TransferPayouts(runtime: runtime, feed: feed).request(debited, in: db)
    }

    /// The ledger would not debit it (nothing to move, or the account changed meanwhile): refused (13).
    func debitRefused(_ refused: DebitRefused, in db: DatabaseContext) async throws {
        guard let id = UUID(uuidString: refused.debitId),
            let record = try await Transfers.advance(
                id, from: [.letterAccepted], to: .transferOutRefused, code: refused.code,
                detail: refused.detail, in: db)
        else { return }
        let answer = TransferAnswer(
            letterNumber: record.letterNumber, receivingCity: record.partnerCity, sendingCity: feed.ourCity,
            code: refused.code, detail: refused.detail)
        try await feed.send(.transferRefused, answer, letter: answer.letterNumber, account: record.account, in: db)
    }

    // MARK: the partner's last word

    func ours(_ outcome: TransferOutcome, from partner: String, in db: DatabaseContext) async throws -> Transfers.Record {
        try PartnerFeed.requireCities(receiving: outcome.receivingCity, sending: outcome.sendingCity, expected: (partner, feed.ourCity))
        return try await Transfers.byLetter(
            outcome.letterNumber, partner: partner, direction: .out, in: db)
    }

    /// Credited there (00): the ledger closes the account.
    func confirmed(_ outcome: TransferOutcome, from partner: String, in db: DatabaseContext) async throws {
        let record = try await ours(outcome, from: partner, in: db)
        guard
            let done = try await Transfers.advance(
                record.id, from: [.accountDataChecked, .negotiating], to: .completed,
                in: db)
        else { return }
        try await db.emit(.transferOutCompleted, done.outStep(on: runtime.clock.today), account: done.account)
    }

    /// Not credited there (40): the ledger reverses the debit and the account is active again.
    func failed(_ outcome: TransferOutcome, from partner: String, in db: DatabaseContext) async throws {
        let record = try await ours(outcome, from: partner, in: db)
        let code = outcome.code ?? "transfer_failed"
        guard
            let failed = try await Transfers.advance(
                record.id, from: [.accountDataChecked, .negotiating], to: .failed, code: code,
                detail: outcome.detail, in: db)
        else { return }
        try await db.emit(.transferOutFailed, failed.outStep(on: runtime.clock.today, code: code), account: failed.account)
    }

    /// The partner disputes our data (06): staff talk to the partner; its confirmation or failure ends it.
    func disputed(_ outcome: TransferOutcome, from partner: String, in db: DatabaseContext) async throws {
        let record = try await ours(outcome, from: partner, in: db)
        try await Transfers.advance(
            record.id, from: [.accountDataChecked], to: .negotiating, code: outcome.code ?? "disputed",
            detail: outcome.detail, in: db)
    }

    /// A letter can be cancelled only before we take it; we take letters at once, so a cancel
    /// that finds the letter accepted is refused to the dead-letter topic (the partner then
    /// receives the data and can fail the transfer, which gives the money back).
    func cancelled(_ outcome: TransferOutcome, from partner: String, in db: DatabaseContext) async throws {
        let record = try await ours(outcome, from: partner, in: db)
        guard
            try await Transfers.advance(
                record.id, from: [.letterChecked], to: .cancelled, code: outcome.code,
                in: db) != nil
        else {
            throw EventRejection(detail: "letter \(record.letterNumber) is in state \(record.state.rawValue); cancel only in 01")
        }
    }
}
