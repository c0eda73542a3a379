import Contracts
import Foundation
import Policy
import Testing

/// The event envelope and payloads are a public contract (analytics and partner systems parse
/// them): each is pinned by a golden JSON file. A change that breaks one is a contract change.
@Suite("Golden events")
struct GoldenEventTests {
    static let fixedTime = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28T20:26:40Z
    static let goldenFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func event<P>(_ type: EventType, _ subject: String, _ data: P) -> CloudEvent<P> {
        CloudEvent(
            id: UUID(uuidString: "6F1C2A0E-8B0B-4C4B-9E55-0D6A8E0B1C01")!, source: EventType.source(service: "test"),
            type: type.rawValue, subject: subject, time: fixedTime, data: data)
    }

    static let accountOpened = event(
        .accountOpened, "3207000000000001",
        AccountOpened(
            accountNumber: "3207000000000001", personRef: "9f2c0d1e4b5a69788766554433221100ffeeddccbbaa99887766554433221100",
            openedOn: BusinessDate("2026-05-29")!, county: "320706", residence: .rural, industry: .ecommerceCrystal, role: .streamer,
            employmentType: .newForm, childrenCount: 2, education: Education(level: .bachelor, graduationDate: BusinessDate("2025-06-30")),
            retirementMonth: YearMonth("2058-12")!, agreement: Agreement(schedule: .monthly, amountFen: 20_000, channel: .wechat),
            monthlyMinimumFen: 11_300))

    static let agreementChanged = event(
        .agreementChanged, "3207000000000001",
        AgreementChanged(
            accountNumber: "3207000000000001", agreement: Agreement(schedule: .quarterly, amountFen: 40_000, channel: .bankCard),
            changedOn: BusinessDate("2026-06-01")!))

    static let contributionReceived = event(
        .contributionReceived, "3207000000000001",
        ContributionReceived(
            contributionId: "0b6f3c57-3f0e-4d8e-9a41-2f1b7c9d0e11", accountNumber: "3207000000000001", amountFen: 120_000,
            channel: .alipay, origin: .channel, paidAt: "2026-07-01T02:00:00.000Z", paidOn: BusinessDate("2026-07-01")!,
            monthsCounted: [YearMonth("2026-07")!], balanceAfterFen: 120_000, firstContribution: true, sequence: 1,
            channelTxnId: "2026070122001400000000000001"))

    static let deadLetter = event(
        .eventDeadLettered, "3207000000000001",
        DeadLetter(
            consumer: "ledger-accounts", reason: .malformedEvent, detail: "not JSON", originalTopic: "hpf.enrolment.events.v1",
            originalPartition: 2, originalOffset: 41, originalKey: "3207000000000001", originalValue: Array("{oops".utf8)))

    static let subsidyGranted = event(
        .subsidyGranted, "3207000000000001",
        SubsidyGranted(
            grantId: "6f1c2a0e-8b0b-4c4b-9e55-0d6a8e0b1c01", accountNumber: "3207000000000001", kind: .opening, amountFen: 40_000,
            grantedOn: BusinessDate("2026-07-01")!, reason: "opening subsidy: graduate within 2 years (§3)", lots: 1, remainingCapFen: 960_000))

    static let subsidyCredited = event(
        .subsidyCredited, "3207000000000001",
        SubsidyCredited(
            accountNumber: "3207000000000001", grantId: "6f1c2a0e-8b0b-4c4b-9e55-0d6a8e0b1c01", amountFen: 40_000, balanceAfterFen: 160_000, sequence: 2))

    static let debitPosted = event(
        .debitPosted, "3207000000000001",
        DebitPosted(
            debitId: "9d2b4c1e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", kind: .withdrawal, amountFen: 60_000,
            postedOn: BusinessDate("2026-08-01")!, balanceAfterFen: 100_000, sequence: 3))

    static let socialInsurance = event(
        .socialInsuranceSubsidyDecided, "3207000000000001",
        SocialInsuranceSubsidyDecided(
            decisionId: "6f1c2a0e-8b0b-4c4b-9e55-0d6a8e0b1c01", personRef: "9f2c0d1e4b5a69788766554433221100ffeeddccbbaa99887766554433221100",
            accountNumber: "3207000000000001", month: YearMonth("2026-02")!, paidFen: 90_001, approved: true, subsidyFen: 45_001,
            reason: "approved", monthsSubsidised: 1))

    static let entrepreneurship = event(
        .entrepreneurshipEligible, "3207000000000001",
        EntrepreneurshipEligible(
            accountNumber: "3207000000000001", grounds: [.veteran, .ruralIndividualBusiness], assessedOn: BusinessDate("2026-05-29")!))

    static let lots = [
        LotShare(lotId: "0b6f3c57-3f0e-4d8e-9a41-2f1b7c9d0e12", amountFen: 50_000),
        LotShare(lotId: "0b6f3c57-3f0e-4d8e-9a41-2f1b7c9d0e11", amountFen: 10_000),
    ]

    static let debitPostedWithLots = event(
        .debitPosted, "3207000000000001",
        DebitPosted(
            debitId: "9d2b4c1e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", kind: .withdrawal, amountFen: 60_000,
            postedOn: BusinessDate("2026-08-01")!, balanceAfterFen: 100_000, sequence: 3, consumedLots: lots))

    static let debitRefused = event(
        .debitRefused, "3207000000000001",
        DebitRefused(
            debitId: "9d2b4c1e-0000-4000-8000-000000000002", accountNumber: "3207000000000001", code: "insufficient_balance",
            detail: "the balance 100000 fen does not cover 150000 fen", balanceFen: 100_000))

    static let debitReversed = event(
        .debitReversed, "3207000000000001",
        DebitReversed(
            debitId: "9d2b4c1e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", amountFen: 60_000, code: "payee_account_closed",
            reversedOn: BusinessDate("2026-08-02")!, balanceAfterFen: 160_000, sequence: 4, restoredLots: lots))

    static let accountClosed = event(
        .accountClosed, "3207000000000001",
        AccountClosed(
            accountNumber: "3207000000000001", closureReason: .leavingCity, closedOn: BusinessDate("2026-09-01")!))

    static let interestSettled = event(
        .interestSettled, "3207000000000001",
        InterestSettled(
            accountNumber: "3207000000000001", occasion: .annual, periodFrom: BusinessDate("2025-07-01")!, periodThrough: BusinessDate("2026-06-30")!,
            interestFen: 15_208, postedOn: BusinessDate("2026-06-30")!, balanceAfterFen: 1_015_208, sequence: 2))

    static let depositDiscrepancy = event(
        .depositDiscrepancy, "3207000000000001",
        StatementDiscrepancy(
            statementId: "01938a4e-7c00-7000-8000-000000000001", channel: .wechat, statementDate: BusinessDate("2026-05-28")!,
            kind: .depositNotNotified, reference: "4200002026052800001", accountNumber: "3207000000000001", ourAmountFen: nil,
            channelAmountFen: 50_000, resolution: .posted, code: nil))

    static let payoutDiscrepancy = event(
        .payoutDiscrepancy, "3207000000000001",
        StatementDiscrepancy(
            statementId: "01938a4e-7c00-7000-8000-000000000002", channel: .bankCard, statementDate: BusinessDate("2026-05-28")!,
            kind: .payoutNotInStatement, reference: "5b1f2c3d-0000-4000-8000-000000000009", accountNumber: "3207000000000001",
            ourAmountFen: 60_000, channelAmountFen: nil, resolution: .flagged, code: nil))

    static let debitPostedClosure = event(
        .debitPosted, "3207000000000001",
        DebitPosted(
            debitId: "9d2b4c1e-0000-4000-8000-000000000003", accountNumber: "3207000000000001", kind: .withdrawal, amountFen: 734_686,
            postedOn: BusinessDate("2026-08-15")!, balanceAfterFen: 0, sequence: 7, consumedLots: lots, closureReason: .leavingCity, interestFen: 1_375))

    static let payee = Payee(kind: .seller, name: "连云港房产有限公司", bankAccount: "6222020200112233445", bankName: "ICBC")

    static let withdrawalRequested = event(
        .withdrawalRequested, "3207000000000001",
        WithdrawalRequested(
            withdrawalId: "9d2b4c1e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", reason: .purchase, amountFen: 60_000,
            closureReason: nil, requestedOn: BusinessDate("2026-08-01")!))

    /// On the analytics topic the payee is masked.
    static let payoutRequested = event(
        .payoutRequested, "3207000000000001",
        PayoutRequested(
            payoutId: "5a0e1f2d-0000-4000-8000-000000000001", withdrawalId: "9d2b4c1e-0000-4000-8000-000000000001",
            accountNumber: "3207000000000001", amountFen: 60_000, payee: payee.masked))

    /// On the payment channel's own topic, in full.
    static let payoutInstruction = event(
        .payoutInstruction, "3207000000000001",
        PayoutRequested(
            payoutId: "5a0e1f2d-0000-4000-8000-000000000001", withdrawalId: "9d2b4c1e-0000-4000-8000-000000000001",
            accountNumber: "3207000000000001", amountFen: 60_000, payee: payee))

    static let withdrawalPaid = event(
        .withdrawalPaid, "3207000000000001",
        WithdrawalPaid(
            withdrawalId: "9d2b4c1e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", reason: .purchase, amountFen: 60_000,
            closureReason: nil, paidOn: BusinessDate("2026-08-01")!, channelRef: "icbc-20260801-0001"))

    static let payoutFailed = event(
        .payoutFailed, "3207000000000001",
        PayoutFailed(
            withdrawalId: "9d2b4c1e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", amountFen: 60_000, code: "payee_account_closed"))

    static let withdrawalRejected = event(
        .withdrawalRejected, "3207000000000001",
        WithdrawalRejected(
            withdrawalId: "9d2b4c1e-0000-4000-8000-000000000002", accountNumber: "3207000000000001", reason: .rent, code: "insufficient_balance",
            detail: "the balance 100000 fen does not cover 150000 fen"))

    static let quota = LoanQuota(
        balanceFen: 1_200_000, averageMonthlyFen: 200_000, durationFactorBasisPoints: 8_000,
        frequencyFactorBasisPoints: 8_000, linkageFen: 28_800_000, upliftBasisPoints: 0, linkageWithUpliftFen: 28_800_000,
        cityCeilingFen: 50_000_000, loanToValueFen: 120_000_000, repaymentCapacityFen: 190_000_000, quotaFen: 28_800_000,
        bindingFactor: "linkage", annualRateMilliPercent: 2_600, maximumTermMonths: 360)

    static let loanDecided = event(
        .loanApplicationDecided, "3207000000000001",
        LoanApplicationDecided(
            applicationId: "7c1d2e3f-0000-4000-8000-000000000001", accountNumber: "3207000000000001", spouseAccountNumber: nil, decision: .approved,
            reasons: ["limited_by_linkage"], requestedFen: 50_000_000, approvedFen: 28_800_000, termMonths: 240, repaymentMethod: .equalInstallment,
            annualRateMilliPercent: 2_600, quota: quota, decidedOn: BusinessDate("2026-03-16")!))

    static let loanDisbursed = event(
        .loanDisbursed, "3207000000000001",
        LoanDisbursed(
            loanId: "8d2e3f40-0000-4000-8000-000000000001", applicationId: "7c1d2e3f-0000-4000-8000-000000000001", accountNumber: "3207000000000001",
            principalFen: 28_800_000, annualRateMilliPercent: 2_600, termMonths: 240, repaymentMethod: .equalInstallment, firstPaymentFen: 154_052,
            disbursedOn: BusinessDate("2026-03-16")!))

    // §17 partner feed: a partner city builds its side against these (source /hpf-partner/<city>).
    static func partner<P>(_ type: EventType, city: String, _ subject: String, _ data: P) -> CloudEvent<P> {
        CloudEvent(
            id: UUID(uuidString: "6F1C2A0E-8B0B-4C4B-9E55-0D6A8E0B1C02")!, source: PartnerMessage.source(city: city),
            type: type.rawValue, subject: subject, time: fixedTime, data: data)
    }
    static let letter = "32070020260316000001"
    static let transferApplication = partner(
        .transferApplication, city: "320700", "3207000000000001",
        TransferApplication(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300",
            personal: SealedPersonalData(
                keyId: "320300-enc-2026", encapsulatedKey: "DW3VD6ekAjc1vn71EyIlrvEG3jhjJ1nco9/7dyEjI2o=",
                ciphertext: "k4yt8Tf0t9PZ8hxUCHnMfZvzXiyNzDj74zCX42JATNNXwssec476jpA9Z4iPCXL71G6R89LMuAPfG51tFQ=="),
            receivingAccountNumber: "3207000000000001", sendingAccountNumber: nil, appliedOn: BusinessDate("2026-03-16")!))
    static let transferAccepted = partner(
        .transferAccepted, city: "320300", "3203008800001234",
        TransferAnswer(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300"))
    static let transferRefused = partner(
        .transferRefused, city: "320300", "3203008800001234",
        TransferAnswer(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300", code: "outstanding_hpf_loan",
            detail: "an HPF loan of this account is not settled"))
    static let messageRefused = partner(
        .messageRefused, city: "320700", letter,
        MessageRefused(
            messageId: "0b9d6c1e-5f6a-4e0c-9a51-2d0f7b8e4c11", messageType: EventType.transferOutData.rawValue, letterNumber: letter,
            toCity: "320300", fromCity: "320700", code: "stale_timestamp", detail: "stale_timestamp"))
    static let transferOutData = partner(
        .transferOutData, city: "320300", "3203008800001234",
        TransferOutData(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300", sendingAccountNumber: "3203008800001234", principalFen: 3_600_000,
            interestFen: 27_135, amountFen: 3_627_135, openedMonth: YearMonth("2024-01")!, paidUpToMonth: YearMonth("2025-06")!,
            lastSixMonthsContinuous: true, contributionMonths: [YearMonth("2025-05")!, YearMonth("2025-06")!], hadHpfLoan: false,
            hasUnsettledHpfLoan: false, sentOn: BusinessDate("2026-03-17")!))
    static let transferConfirmed = partner(
        .transferConfirmed, city: "320700", "3207000000000001",
        TransferOutcome(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300", creditedFen: 3_627_135))
    static let transferInAccepted = event(
        .transferInAccepted, "3207000000000001",
        TransferInAccepted(
            transferId: "1b2c3d4e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", letterNumber: letter, sendingCity: "320300",
            principalFen: 3_600_000, interestFen: 27_135, amountFen: 3_627_135, acceptedOn: BusinessDate("2026-03-17")!))
    static let transferInPosted = event(
        .transferInPosted, "3207000000000001",
        TransferInPosted(
            transferId: "1b2c3d4e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", amountFen: 3_627_135, principalFen: 3_600_000,
            interestFen: 27_135, lotId: "2c3d4e5f-0000-4000-8000-000000000001", postedOn: BusinessDate("2026-03-17")!, balanceAfterFen: 3_747_135,
            sequence: 5))
    static let transferOutRequested = event(
        .transferOutRequested, "3207000000000001",
        TransferOutStep(
            transferId: "1b2c3d4e-0000-4000-8000-000000000002", accountNumber: "3207000000000001", letterNumber: "32130020260316000007",
            receivingCity: "321300", on: BusinessDate("2026-03-16")!))
    static let monthsRecognised = event(
        .monthsRecognised, "3207000000000001",
        MonthsRecognised(
            accountNumber: "3207000000000001", transferId: "1b2c3d4e-0000-4000-8000-000000000001", partnerCity: "320300",
            months: [YearMonth("2025-05")!, YearMonth("2025-06")!], recognisedOn: BusinessDate("2026-03-17")!))
    static let transferStateChanged = event(
        .transferStateChanged, "3207000000000001",
        TransferStateChanged(
            transferId: "1b2c3d4e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", direction: .in, letterNumber: letter,
            partnerCity: "320300", state: .accountDataChecked, code: nil, on: BusinessDate("2026-03-17")!))

    // The event types that had no golden file before the catalogue check below.
    static let loan = "5a0c1f3e-0000-4000-8000-000000000001"
    static let creditRecordAdded = event(
        .creditRecordAdded, "3207000000000001",
        CreditRecordAdded(
            personRef: "pr-6b1e0c4d9a2f7e35", accountNumber: nil, source: "loan", reference: loan, reason: "three consecutive instalments overdue",
            activeFrom: BusinessDate("2026-03-16")!, activeUntil: BusinessDate("2031-03-16")!))
    static let loanRepaid = event(
        .loanRepaid, "3207000000000001",
        LoanRepaid(
            loanId: loan, accountNumber: "3207000000000001", amountFen: 245_318, source: "bank_transfer", reference: "bank:rp-20260316-0001",
            outstandingFen: 48_120_400, arrearsFen: 0, receivedOn: BusinessDate("2026-03-16")!))
    static let loanSettled = event(
        .loanSettled, "3207000000000001",
        LoanSettled(
            loanId: loan, accountNumber: "3207000000000001", settledOn: BusinessDate("2026-03-16")!))
    static let instalmentOverdue = event(
        .instalmentOverdue, "3207000000000001",
        InstalmentOverdue(
            loanId: loan, accountNumber: "3207000000000001", number: 7, dueOn: BusinessDate("2026-03-01")!, arrearsFen: 245_318,
            consecutive: 1, cumulative: 2))
    static let badCreditRecorded = event(
        .badCreditRecorded, "3207000000000001",
        BadCreditRecorded(
            personRef: "pr-6b1e0c4d9a2f7e35", accountNumber: "3207000000000001", loanId: loan, reason: "three consecutive instalments overdue",
            recordedOn: BusinessDate("2026-03-16")!))
    static let badCreditCleared = event(
        .badCreditCleared, "3207000000000001",
        BadCreditCleared(
            personRef: "pr-6b1e0c4d9a2f7e35", accountNumber: "3207000000000001", loanId: loan, arrearsClearedOn: BusinessDate("2026-07-17")!,
            activeUntil: BusinessDate("2031-07-16")!))
    static let repaymentDebitRequested = event(
        .repaymentDebitRequested, "3207000000000001",
        RepaymentDebitRequested(
            repaymentId: "5a0c1f3e-0000-4000-8000-000000000002", loanId: loan, accountNumber: "3207000000000001", amountFen: 245_318,
            requestedOn: BusinessDate("2026-03-16")!))
    static let transferInRefused = event(
        .transferInRefused, "3207000000000001",
        TransferInRefused(
            transferId: "1b2c3d4e-0000-4000-8000-000000000001", accountNumber: "3207000000000001", code: "account_not_active",
            detail: "account 3207000000000001 is closed"))
    static let transferOutCompleted = event(
        .transferOutCompleted, "3207000000000001",
        TransferOutStep(
            transferId: "1b2c3d4e-0000-4000-8000-000000000002", accountNumber: "3207000000000001", letterNumber: "32130020260316000007",
            receivingCity: "321300", on: BusinessDate("2026-03-18")!))
    static let transferOutFailed = event(
        .transferOutFailed, "3207000000000001",
        TransferOutStep(
            transferId: "1b2c3d4e-0000-4000-8000-000000000002", accountNumber: "3207000000000001", letterNumber: "32130020260316000007",
            receivingCity: "321300", on: BusinessDate("2026-03-18")!, code: "partner_cannot_credit"))
    static let transferDisputed = partner(
        .transferDisputed, city: "320700", "3207000000000001",
        TransferOutcome(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300", code: "amount_mismatch",
            detail: "amount 3627136 is not principal 3600000 + interest 27135"))
    static let transferFailed = partner(
        .transferFailed, city: "320700", "3207000000000001",
        TransferOutcome(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300", code: "transfer_failed", detail: "closed by staff"))
    static let transferCancelled = partner(
        .transferCancelled, city: "320700", "3207000000000001",
        TransferOutcome(
            letterNumber: letter, receivingCity: "320700", sendingCity: "320300", code: "cancelled_by_applicant"))
    static let transferPayoutInstruction = event(
        .transferPayoutInstruction, "3207000000000001",
        TransferPayoutInstruction(
            payoutId: "2c3d4e5f-0000-4000-8000-000000000001", transferId: "1b2c3d4e-0000-4000-8000-000000000002",
            letterNumber: "32130020260316000007", receivingCity: "321300", amountFen: 250_000, requestedOn: BusinessDate("2026-03-17")!))

    @Test func remainingEventsAreStable() throws {
        try check(Self.creditRecordAdded, "credit-record-added")
        try check(Self.loanRepaid, "loan-repaid")
        try check(Self.loanSettled, "loan-settled")
        try check(Self.instalmentOverdue, "instalment-overdue")
        try check(Self.badCreditRecorded, "bad-credit-recorded")
        try check(Self.badCreditCleared, "bad-credit-cleared")
        try check(Self.repaymentDebitRequested, "repayment-debit-requested")
        try check(Self.transferInRefused, "transfer-in-refused")
        try check(Self.transferOutCompleted, "transfer-out-completed")
        try check(Self.transferOutFailed, "transfer-out-failed")
        try check(Self.transferDisputed, "partner-transfer-disputed")
        try check(Self.transferFailed, "partner-transfer-failed")
        try check(Self.transferCancelled, "partner-transfer-cancelled")
        try check(Self.transferPayoutInstruction, "transfer-payout-instruction")
    }

    /// Every event type of the catalogue is pinned by at least one golden file (and `make test`
    /// checks each golden file against its AsyncAPI schema).
    @Test("every event type has a golden file")
    func everyTypeHasAGoldenFile() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.goldenFolder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
        let covered = Set(try files.map { try CloudEventCoding.header(from: Array(try Data(contentsOf: $0))).type })
        let missing = EventType.allCases.map(\.rawValue).filter { !covered.contains($0) }
        #expect(missing.isEmpty, "event types without a golden file: \(missing)")
    }

    @Test func partnerMessagesAreStable() throws {
        try check(Self.transferApplication, "partner-transfer-application")
        try check(Self.transferAccepted, "partner-transfer-accepted")
        try check(Self.transferRefused, "partner-transfer-refused")
        try check(Self.transferOutData, "partner-transfer-out-data")
        try check(Self.transferConfirmed, "partner-transfer-confirmed")
        try check(Self.messageRefused, "partner-message-refused")
    }

    @Test func transferEventsAreStable() throws {
        try check(Self.transferInAccepted, "transfer-in-accepted")
        try check(Self.transferInPosted, "transfer-in-posted")
        try check(Self.transferOutRequested, "transfer-out-requested")
        try check(Self.monthsRecognised, "months-recognised")
        try check(Self.transferStateChanged, "transfer-state-changed")
    }

    @Test("contact letter numbers: receiving city, business date, daily sequence")
    func letterNumbers() {
        #expect(ContactLetter.number(receivingCity: "320700", on: BusinessDate("2026-03-16")!, sequence: 42) == "32070020260316000042")
        #expect(ContactLetter.isValid("32070020260316000042") && !ContactLetter.isValid("3207002026031600004x"))
        #expect(PartnerMessage.city(fromSource: "/hpf-partner/320300") == "320300" && PartnerMessage.city(fromSource: "/hpf/320300") == nil)
    }

    func check<P: Codable & Equatable>(_ event: CloudEvent<P>, _ name: String) throws {
        let encoded = String(decoding: try CloudEventCoding.encode(event), as: UTF8.self)
        let url = Self.goldenFolder.appendingPathComponent("\(name).json")
        if ProcessInfo.processInfo.environment["HPF_WRITE_GOLDEN"] == "1" {
            try (encoded + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(encoded == golden, "\(name) differs from its golden file")
        let decoded = try CloudEventCoding.decode(P.self, from: Array(golden.utf8))
        #expect(decoded.data == event.data)
        let header = try CloudEventCoding.header(from: Array(golden.utf8))
        #expect(header.specversion == "1.0" && header.type == event.type && header.subject == event.subject)
    }

    @Test func accountOpenedIsStable() throws { try check(Self.accountOpened, "account-opened") }
    @Test func agreementChangedIsStable() throws { try check(Self.agreementChanged, "agreement-changed") }
    @Test func contributionReceivedIsStable() throws { try check(Self.contributionReceived, "contribution-received") }
    @Test func deadLetterIsStable() throws { try check(Self.deadLetter, "dead-letter") }
    @Test func subsidyGrantedIsStable() throws { try check(Self.subsidyGranted, "subsidy-granted") }
    @Test func subsidyCreditedIsStable() throws { try check(Self.subsidyCredited, "subsidy-credited") }
    @Test func debitPostedIsStable() throws { try check(Self.debitPosted, "debit-posted") }
    @Test func debitPostedWithLotsIsStable() throws { try check(Self.debitPostedWithLots, "debit-posted-with-lots") }
    @Test func debitRefusedIsStable() throws { try check(Self.debitRefused, "debit-refused") }
    @Test func debitReversedIsStable() throws { try check(Self.debitReversed, "debit-reversed") }
    @Test func accountClosedIsStable() throws { try check(Self.accountClosed, "account-closed") }
    @Test func interestSettledIsStable() throws { try check(Self.interestSettled, "interest-settled") }
    @Test func depositDiscrepancyIsStable() throws { try check(Self.depositDiscrepancy, "deposit-statement-discrepancy") }
    @Test func payoutDiscrepancyIsStable() throws { try check(Self.payoutDiscrepancy, "payout-statement-discrepancy") }
    @Test func closureDebitWithInterestIsStable() throws { try check(Self.debitPostedClosure, "debit-posted-closure") }
    @Test func withdrawalRequestedIsStable() throws { try check(Self.withdrawalRequested, "withdrawal-requested") }
    @Test func payoutRequestedIsStable() throws { try check(Self.payoutRequested, "payout-requested") }
    @Test func payoutInstructionIsStable() throws { try check(Self.payoutInstruction, "payout-instruction") }
    @Test func maskedPayee() {
        #expect(Self.payee.masked == Payee(kind: .seller, name: "连********", bankAccount: "***************3445", bankName: "ICBC"))
    }
    @Test func withdrawalPaidIsStable() throws { try check(Self.withdrawalPaid, "withdrawal-paid") }
    @Test func payoutFailedIsStable() throws { try check(Self.payoutFailed, "payout-failed") }
    @Test func loanDecidedIsStable() throws { try check(Self.loanDecided, "loan-application-decided") }
    @Test func loanDisbursedIsStable() throws { try check(Self.loanDisbursed, "loan-disbursed") }
    @Test func withdrawalRejectedIsStable() throws { try check(Self.withdrawalRejected, "withdrawal-rejected") }
    @Test func socialInsuranceDecisionIsStable() throws { try check(Self.socialInsurance, "social-insurance-subsidy-decided") }
    @Test func entrepreneurshipEligibleIsStable() throws { try check(Self.entrepreneurship, "entrepreneurship-eligible") }

    @Test("the account-opened event carries no identifying data")
    func noPersonalData() throws {
        let json = String(decoding: try CloudEventCoding.encode(Self.accountOpened), as: UTF8.self)
        for field in ["idNumber", "name", "phone"] { #expect(!json.contains("\"\(field)\"")) }
    }

    @Test("non-UTF-8 originals are kept as base64")
    func binaryOriginal() {
        let letter = DeadLetter(
            consumer: "c", reason: .malformedEvent, detail: "", originalTopic: "t", originalPartition: 0,
            originalOffset: 0, originalKey: nil, originalValue: [0xff, 0x00, 0x41])
        #expect(letter.originalValueEncoding == "base64" && letter.originalValue == "/wBB")
    }

    @Test("an envelope that is not CloudEvents 1.0 is refused")
    func badEnvelope() {
        #expect(throws: (any Error).self) { try CloudEventCoding.header(from: Array(#"{"specversion":"0.3","id":"x","type":"t","source":"s"}"#.utf8)) }
        #expect(throws: (any Error).self) { try CloudEventCoding.header(from: Array("not json".utf8)) }
    }
}
