import Contracts
import Foundation
import Loan
import Policy
import PostgresNIO
import ServiceRuntime
import Testing
import Withdrawal

extension LoanTests {
    /// A repayment holds its loan's row while it pays and decides whether the arrears are cleared;
    /// the overdue job marks instalments of the same loans. Beside each other, each missed the
    /// other's uncommitted instalment and a bad-credit record was cleared while the next
    /// instalment had just gone overdue.
    @Test("the overdue job waits for a repayment in flight on the same loan")
    func overdueJobWaitsForRepayment() async throws {
        let dial = BusinessClock.Dial(TestStack.today)
        try await withServices(clock: BusinessClock(dial: dial)) { s in
            try await Self.setPool(s, assets: 100_000_000_000)
            let account = try await Self.contributor(s, months: 6)
            let approved = try await s.loan.post("/v1/loan-applications", Self.application(account, requested: 10_000_000))
            let loan = try #require(approved.string("loanId").flatMap(UUID.init(uuidString:)), "\(approved.text)")
            // The first instalment (due 04-16) is overdue 30 days later.
            dial.set(BusinessDate("2026-05-17")!)
            try await TestStack.withDatabase(of: LoanService.descriptor) { database in
                let (waited, run) = try await TestStack.whileHolding(database) { connection in
                    // What a repayment holds while it decides (`Instalments`): the loan's row.
                    try await connection.query("SELECT 1 FROM loans WHERE loan_id = \(loan) FOR UPDATE", logger: TestStack.logger)
                } request: {
                    try await s.loan.post("/v1/jobs/overdue", #"{"asOf":"2026-05-17"}"#)
                }
                #expect(waited, "the job waited for the loan's repayment instead of deciding beside it")
                #expect(run.status == 200 && (run.int("overdueInstalments") ?? 0) >= 1, "\(run.text)")
            }
            dial.set(TestStack.today)
        }
    }

    /// One loan per household (§13): the outstanding-loan check reads the applicant's and the
    /// spouse's loans, so an application naming a spouse must wait for the spouse's own
    /// application in flight; decided side by side, each missed the other's uncommitted loan and
    /// the household got two.
    @Test("an application naming a spouse waits for the spouse's own application in flight")
    func householdApplicationsWait() async throws {
        try await withServices { s in
            try await Self.setPool(s, assets: 100_000_000_000)
            let spousePerson = TestStack.newResidentID(birth: "1994-04-04", male: false)
            let spouse = try await Self.contributor(s, months: 6, person: spousePerson)
            let applicant = try await Self.contributor(s, months: 6)
            let consent = try await s.loan.post(
                "/v1/accounts/\(spouse)/spouse-consents", #"{"applicantAccountNumber":"\#(applicant)"}"#, as: .citizen(spousePerson))
            #expect(consent.status == 201, "\(consent.text)")
            try await TestStack.withDatabase(of: LoanService.descriptor) { database in
                let (waited, decided) = try await TestStack.whileHolding(database) { connection in
                    // The spouse's own application in flight: the lock its decision runs under.
                    try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("loan:" + spouse)))", logger: TestStack.logger)
                } request: {
                    try await s.loan.post("/v1/loan-applications", Self.application(applicant, spouse: spouse, requested: 5_000_000))
                }
                #expect(waited, "the application waited for the spouse's decision instead of deciding beside it")
                #expect(decided.status == 201 && decided.string("decision") == "approved", "\(decided.text)")
            }
        }
    }

    /// §19: queued loans go out whenever liquidity returns. An approval that finds too little and
    /// a liquidity change committing at that moment must not miss each other: decided side by
    /// side, the approval could not see the uncommitted liquidity and queued its loan, and the
    /// change's release could not see the uncommitted queued loan, so it waited with room in the pool.
    @Test("an approval meeting liquidity that returns at the same moment is paid out, not left queued")
    func approvalMeetsReturningLiquidity() async throws {
        try await withServices { s in
            let applicant = try await Self.contributor(s, months: 6)
            let principal: Int64 = 5_000_000
            let short: Int64 = 2_500_000
            // The pool is `short` below the floor for this loan until a balance rises by twice that.
            let outstanding = try await s.loan.get("/v1/fund-pool").int("loansOutstandingFen") ?? 0
            try await Self.setPool(s, assets: (outstanding + principal - short) * 10 / 9)

            let descriptor = LoanService.descriptor
            let runtime = try ServiceRuntime(descriptor: descriptor, config: TestStack.config(descriptor), clock: TestStack.clock)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await runtime.database.client.run() }
                defer { group.cancelAll() }
                let service = try LoanService(runtime: runtime)
                let credit = try #require(
                    service.subscriptions.first { $0.consumerName == "loan-contribution-history" }?.handlers.first { $0.type == .subsidyCredited })
                // A balance of this test's own (the read model's, not a ledger account), raised and later
                // put back, through the live consumer's own handler: its projection, then its release.
                let holder = "3207" + String(UInt64.random(in: 100_000_000_000...999_999_999_999))
                @Sendable func credited(balance: Fen) throws -> [UInt8] {
                    try CloudEventCoding.encode(
                        CloudEvent(
                            source: EventType.source(service: "contribution"), type: EventType.subsidyCredited.rawValue, subject: holder,
                            data: SubsidyCredited(
                                accountNumber: holder, grantId: UUID().uuidString.lowercased(), amountFen: 2 * short, balanceAfterFen: balance,
                                sequence: 1)))
                }
                let (_, decided) = try await TestStack.whileHolding(runtime.database) { connection in
                    try await credit.handle(try credited(balance: 2 * short), runtime.context(on: connection))
                } request: {
                    try await s.loan.post("/v1/loan-applications", Self.application(applicant, requested: principal))
                }
                #expect(decided.string("decision") == "approved", "\(decided.text)")
                if let loan = decided.string("loanId") {
                    #expect(try await s.loan.get("/v1/loans/\(loan)").string("status") == "active")
                }
                try await runtime.transaction { db in try await credit.handle(try credited(balance: 0), db) }
                await runtime.producer.shutdown()
            }
            try await Self.setPool(s, assets: 100_000_000_000)
        }
    }
}

extension WithdrawalTests {
    /// The ledger closing an account cancels its open rent plans; a plan being made at that moment
    /// read the account as active, and was left active on a closed account.
    @Test("a rent plan being made while the account's closure is applied waits for it, then is refused")
    func rentPlanMeetsClosure() async throws {
        try await withServices { s in
            let account = try await Self.openAccount(s, deposits: [120_000])
            let landlord = #"{"kind":"landlord","name":"王芳","bankAccount":"6217000099998888"}"#
            let plan =
                #"{"accountNumber":"\#(account)","payee":\#(landlord),"leaseContractNumber":"\#(TestStack.unique("ZL"))","monthlyRentFen":180000,"monthlyFen":50000,"months":3}"#
            try await TestStack.withDatabase(of: WithdrawalService.descriptor) { database in
                let (waited, created) = try await TestStack.whileHolding(database) { connection in
                    // The account-closed event being applied (`LedgerOutcomes`): the account's row changes.
                    try await connection.query("UPDATE accounts SET status = 'closed' WHERE account_number = \(account)", logger: TestStack.logger)
                } request: {
                    try await s.withdrawal.post("/v1/rent-plans", plan)
                }
                #expect(waited, "the plan waited for the closure")
                #expect(created.status == 422 && created.string("code") == "account_not_active", "\(created.text)")
            }
        }
    }
}
