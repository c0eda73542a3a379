import Contracts
import Foundation
import Policy
import ServiceRuntime

/// The body of `POST /v1/withdrawals` and what its evidence proves, reason by reason.
struct WithdrawalRequest: Codable, Sendable {
    /// The facts a withdrawal's reason is judged on (the documents' numbers and amounts).
    struct Evidence: Codable, Sendable, Equatable {
        enum LoanType: String, Codable, Sendable { case hpf, commercial }
        // purchase (购房合同)
        var contractNumber: String?
        var priceFen: Fen?
        // self_build (农村宅基地建房批准书)
        var permitNumber: String?
        var costFen: Fen?
        // repayment
        var loanType: LoanType?
        var loanContractNumber: String?
        var outstandingFen: Fen?
        // rent (租赁合同)
        var leaseContractNumber: String?
        var monthlyRentFen: Fen?
        var months: Int?
        // closure
        var closureReason: ClosureReason?
        var certificateNumber: String?
        var newCity: String?
        /// The bank account the document names for the payee (the seller's account in the purchase
        /// contract, the builder's in the building contract, the lender's repayment account): a
        /// withdrawal paid to anyone but the holder must go to the account its evidence names.
        var payeeBankAccount: String?
    }

    var accountNumber: String
    var reason: WithdrawalReason
    var amountFen: Fen?
    var payee: Payee
    var evidence: Evidence
    /// The caller's idempotency key: the same key replays the first answer.
    var requestId: String?

    /// Checks the shape of the request for its reason; a missing document is a 400 naming it.
    func validate() throws {
        var errors: [Problem.FieldError] = []
        func require(_ present: Bool, _ field: String, _ message: String = "required for this reason") {
            if !present { errors.append(.init(field: field, message: message)) }
        }
        func positive(_ value: Fen?, _ field: String) { require((value ?? 0) > 0, field, "a positive number of fen") }
        func text(_ value: String?, _ field: String) {
            require(!(value ?? "").trimmingCharacters(in: .whitespaces).isEmpty && (value?.count ?? 0) <= 64, field, "1 to 64 characters")
        }

        if reason == .closure {
            require(amountFen == nil, "amountFen", "a closure withdraws the whole balance: leave amountFen out")
            require(evidence.closureReason != nil, "evidence.closureReason")
            if evidence.closureReason == .death { text(evidence.certificateNumber, "evidence.certificateNumber") }
        } else {
            positive(amountFen, "amountFen")
        }
        switch reason {
        case .purchase:
            text(evidence.contractNumber, "evidence.contractNumber")
            positive(evidence.priceFen, "evidence.priceFen")
        case .selfBuild:
            text(evidence.permitNumber, "evidence.permitNumber")
            positive(evidence.costFen, "evidence.costFen")
        case .repayment:
            require(evidence.loanType != nil, "evidence.loanType")
            text(evidence.loanContractNumber, "evidence.loanContractNumber")
            positive(evidence.outstandingFen, "evidence.outstandingFen")
        case .rent:
            text(evidence.leaseContractNumber, "evidence.leaseContractNumber")
            positive(evidence.monthlyRentFen, "evidence.monthlyRentFen")
        case .closure:
            break
        }
        errors += PayeeRules.errors(payee)
        if let requestId, requestId.isEmpty || requestId.count > 128 { errors.append(.init(field: "requestId", message: "1 to 128 characters")) }
        guard errors.isEmpty else { throw Problem.malformed("some fields are invalid", errors: errors) }
    }

    /// The claim the policy rules judge.
    var claim: WithdrawalClaim {
        let ceiling: Fen? =
            switch reason {
            case .purchase: evidence.priceFen
            case .selfBuild: evidence.costFen
            case .repayment: evidence.outstandingFen
            case .rent, .closure: nil
            }
        return WithdrawalClaim(
            reason: reason, amountFen: amountFen, closureReason: evidence.closureReason, ceilingFen: ceiling,
            monthlyRentFen: evidence.monthlyRentFen, rentMonths: evidence.months ?? 1)
    }

    /// The document a withdrawal may not reuse: a purchase contract or a building permit (the
    /// amount taken on it is capped across accounts); a loan or lease is only recorded.
    var evidenceKey: String? {
        switch reason {
        case .purchase: evidence.contractNumber.map { "purchase:\($0)" }
        case .selfBuild: evidence.permitNumber.map { "self_build:\($0)" }
        case .repayment: evidence.loanContractNumber.map { "repayment:\($0)" }
        case .rent: evidence.leaseContractNumber.map { "rent:\($0)" }
        case .closure: nil
        }
    }

    /// Two requests with one `requestId` must say the same thing.
    var fingerprint: String {
        let data = (try? HTTPJSON.encoder().encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

enum PayeeRules {
    /// Who a withdrawal for `reason` may be paid to (a decision: the scheme pays the counterparty of
    /// the document, or the holder; an heir only when the holder died).
    static func allowedKinds(_ reason: WithdrawalReason, closure: ClosureReason?) -> Set<Payee.Kind> {
        switch reason {
        case .purchase: [.seller, .holder]
        case .selfBuild: [.builder, .holder]
        case .repayment: [.lender, .holder]
        case .rent: [.landlord, .agency, .holder]
        case .closure: closure == .death ? [.heir] : [.holder]
        }
    }

    /// Whether the payee fits the request: the kind fits the reason; the holder is paid only to the
    /// account registered with the agreement (`registeredRef`, a keyed hash compared with
    /// `refOf(payee.bankAccount)`); a counterparty only to the account its evidence names.
    static func refusal(_ request: WithdrawalRequest, registeredRef: String?, refOf: (String) -> String) -> Problem? {
        let payee = request.payee
        guard allowedKinds(request.reason, closure: request.evidence.closureReason).contains(payee.kind) else {
            return Problem.rule("payee_kind_not_allowed", "a \(request.reason.rawValue) withdrawal cannot be paid to a \(payee.kind.rawValue)")
        }
        switch payee.kind {
        case .holder:
            guard let registeredRef else {
                return Problem.rule("no_registered_payout_account", "the holder has registered no bank account for payouts (with the agreement)")
            }
            guard refOf(payee.bankAccount) == registeredRef else {
                return Problem.rule("payee_not_registered_account", "a payout to the holder goes only to the bank account registered with the agreement")
            }
        case .seller, .builder, .lender:
            guard request.evidence.payeeBankAccount == payee.bankAccount else {
                return Problem.rule("payee_not_in_evidence", "the payee's bank account must be the one the evidence names (evidence.payeeBankAccount)")
            }
        case .landlord, .agency, .heir:
            break
        }
        return nil
    }

    static func errors(_ payee: Payee, field: String = "payee") -> [Problem.FieldError] {
        var errors: [Problem.FieldError] = []
        if payee.name.trimmingCharacters(in: .whitespaces).isEmpty || payee.name.count > 64 {
            errors.append(.init(field: "\(field).name", message: "1 to 64 characters"))
        }
        if !(8...32).contains(payee.bankAccount.count) || !payee.bankAccount.allSatisfy(\.isASCIIDigit) {
            errors.append(.init(field: "\(field).bankAccount", message: "8 to 32 digits"))
        }
        return errors
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
