/// The topic catalogue of CONTRACT.md. One writer per topic.
public enum Topic: String, CaseIterable, Sendable {
    case enrolmentEvents = "hpf.enrolment.events.v1"
    case contributionEvents = "hpf.contribution.events.v1"
    case subsidyEvents = "hpf.subsidy.events.v1"
    case withdrawalEvents = "hpf.withdrawal.events.v1"
    /// Payout instructions with the payee's full bank account: for the payment-channel adapter
    /// only (give no analytics consumer read access), so the analytics topic carries masked payees.
    case payoutInstructions = "hpf.withdrawal.payout-instructions.v1"
    case loanEvents = "hpf.loan.events.v1"
    case regionalEvents = "hpf.regional.events.v1"
    /// Transfer-out payouts for our bank (the channel-only `bank` user): like the withdrawal
    /// payout instructions, kept off the analytics topics.
    case transferPayoutInstructions = "hpf.regional.transfer-payout-instructions.v1"
    /// Every partner city's messages to us, each signed by its sender. Ours to a city go on that
    /// city's own topic (`partnerOutbound(city:)`).
    case partnerInbound = "hpf.regional.partner-inbound.v1"
    /// Events that could not be processed, with the reason; every consumer may write here.
    case deadLetter = "hpf.deadletter.v1"

    public var name: String { rawValue }

    /// Our messages to one partner city (§17), on a topic of its own, so a broker's ACLs can give
    /// each city read access to its own people only: `hpf.regional.partner-outbound.<city code>.v1`.
    /// (It replaces the single `hpf.regional.partner-outbound.v1` that every partner read.)
    public static func partnerOutbound(city: String) -> String { "\(partnerOutboundPrefix)\(city).v1" }
    public static let partnerOutboundPrefix = "hpf.regional.partner-outbound."

    /// The city whose outbound topic `name` is, if it is one.
    public static func partnerCity(outboundTopic name: String) -> String? {
        guard name.hasPrefix(partnerOutboundPrefix), name.hasSuffix(".v1") else { return nil }
        let city = name.dropFirst(partnerOutboundPrefix.count).dropLast(".v1".count)
        return city.isEmpty || city.contains(".") ? nil : String(city)
    }
}

/// Every event type the suite knows, with the topic it travels on. A consumer skips known types
/// it has no use for, and dead-letters types that no catalogue entry names.
public enum EventType: String, CaseIterable, Sendable {
    case accountOpened = "hpf.enrolment.account-opened.v1"
    case agreementChanged = "hpf.enrolment.agreement-changed.v1"
    case creditRecordAdded = "hpf.enrolment.credit-record-added.v1"
    case contributionReceived = "hpf.contribution.contribution-received.v1"
    case subsidyCredited = "hpf.contribution.subsidy-credited.v1"
    case debitPosted = "hpf.contribution.debit-posted.v1"
    case debitRefused = "hpf.contribution.debit-refused.v1"
    case debitReversed = "hpf.contribution.debit-reversed.v1"
    case accountClosed = "hpf.contribution.account-closed.v1"
    case interestSettled = "hpf.contribution.interest-settled.v1"
    /// A deposit statement line that did not match the ledger (reconciliation, 对账).
    case depositDiscrepancy = "hpf.contribution.statement-discrepancy.v1"
    case subsidyGranted = "hpf.subsidy.subsidy-granted.v1"
    case socialInsuranceSubsidyDecided = "hpf.subsidy.social-insurance-subsidy-decided.v1"
    case entrepreneurshipEligible = "hpf.subsidy.entrepreneurship-eligible.v1"
    case withdrawalRequested = "hpf.withdrawal.withdrawal-requested.v1"
    case payoutRequested = "hpf.withdrawal.payout-requested.v1"
    /// The same payout with the payee in full, on the channel-only topic.
    case payoutInstruction = "hpf.withdrawal.payout-instruction.v1"
    case withdrawalPaid = "hpf.withdrawal.withdrawal-paid.v1"
    case payoutFailed = "hpf.withdrawal.payout-failed.v1"
    case withdrawalRejected = "hpf.withdrawal.withdrawal-rejected.v1"
    /// A payout statement line that did not match our payouts (reconciliation, 对账).
    case payoutDiscrepancy = "hpf.withdrawal.statement-discrepancy.v1"
    case loanApplicationDecided = "hpf.loan.loan-application-decided.v1"
    case loanDisbursed = "hpf.loan.loan-disbursed.v1"
    case loanRepaid = "hpf.loan.loan-repaid.v1"
    case loanSettled = "hpf.loan.loan-settled.v1"
    case instalmentOverdue = "hpf.loan.instalment-overdue.v1"
    case badCreditRecorded = "hpf.loan.bad-credit-recorded.v1"
    case badCreditCleared = "hpf.loan.bad-credit-cleared.v1"
    case repaymentDebitRequested = "hpf.loan.repayment-debit-requested.v1"
    case transferInPosted = "hpf.contribution.transfer-in-posted.v1"
    case transferInRefused = "hpf.contribution.transfer-in-refused.v1"
    case transferInAccepted = "hpf.regional.transfer-in-accepted.v1"
    case transferOutRequested = "hpf.regional.transfer-out-requested.v1"
    case transferOutCompleted = "hpf.regional.transfer-out-completed.v1"
    case transferOutFailed = "hpf.regional.transfer-out-failed.v1"
    case monthsRecognised = "hpf.regional.months-recognised.v1"
    case transferStateChanged = "hpf.regional.transfer-state-changed.v1"
    /// A transfer out's balance, for our bank to pay to the receiving centre.
    case transferPayoutInstruction = "hpf.regional.transfer-payout-instruction.v1"
    // The partner feed (PartnerMessages.swift): the same types both ways; `topic` is where we write them.
    case transferApplication = "hpf.regional.transfer-application.v1"
    case transferAccepted = "hpf.regional.transfer-accepted.v1"
    case transferRefused = "hpf.regional.transfer-refused.v1"
    case transferOutData = "hpf.regional.transfer-out-data.v1"
    case transferConfirmed = "hpf.regional.transfer-confirmed.v1"
    case transferDisputed = "hpf.regional.transfer-disputed.v1"
    case transferFailed = "hpf.regional.transfer-failed.v1"
    case transferCancelled = "hpf.regional.transfer-cancelled.v1"
    /// Our answer to a partner message we refused or ignored (§17): which message, and why.
    case messageRefused = "hpf.regional.message-refused.v1"
    case eventDeadLettered = "hpf.deadletter.event-rejected.v1"

    public var topic: Topic {
        switch self {
        case .accountOpened, .agreementChanged, .creditRecordAdded: .enrolmentEvents
        case .contributionReceived, .subsidyCredited, .debitPosted, .debitRefused, .debitReversed, .accountClosed, .interestSettled,
            .depositDiscrepancy, .transferInPosted, .transferInRefused:
            .contributionEvents
        case .transferInAccepted, .transferOutRequested, .transferOutCompleted, .transferOutFailed, .monthsRecognised,
            .transferStateChanged:
            .regionalEvents
        // Partner messages travel both ways: a partner's come in on the shared inbound topic, ours
        // go out on each city's own topic (`Topic.partnerOutbound(city:)`).
        case .transferApplication, .transferAccepted, .transferRefused, .transferOutData, .transferConfirmed, .transferDisputed,
            .transferFailed, .transferCancelled, .messageRefused:
            .partnerInbound
        case .subsidyGranted, .socialInsuranceSubsidyDecided, .entrepreneurshipEligible: .subsidyEvents
        case .withdrawalRequested, .payoutRequested, .withdrawalPaid, .payoutFailed, .withdrawalRejected, .payoutDiscrepancy: .withdrawalEvents
        case .payoutInstruction: .payoutInstructions
        case .transferPayoutInstruction: .transferPayoutInstructions
        case .loanApplicationDecided, .loanDisbursed, .loanRepaid, .loanSettled, .instalmentOverdue, .badCreditRecorded, .badCreditCleared,
            .repaymentDebitRequested:
            .loanEvents
        case .eventDeadLettered: .deadLetter
        }
    }

    /// The CloudEvents `source` of each producing service.
    public static func source(service: String) -> String { "/hpf/\(service)" }
}
