import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §6 贷款一件事: one request carries everything, one response gives the decision with every
/// reason and the quota's factors. The facts come from this service's own event-built views.
struct LoanApplications: Sendable {
    let runtime: ServiceRuntime

    struct House: Codable, Sendable {
        var county: String
        var priceFen: Fen
        var firstHome: Bool
        var green: Bool?
        var improvement: Bool?
        var tradeIn: Bool?
        var betterHousing: Bool { green == true || improvement == true || tradeIn == true }
    }

    struct Body: Codable, Sendable {
        var accountNumber: String
        var spouseAccountNumber: String?
        var house: House
        var requestedFen: Fen
        var termMonths: Int
        var repaymentMethod: RepaymentMethod
        var monthlyIncomeFen: Fen
        var monthlyDebtFen: Fen
        var requestId: String?
    }

    struct Decision: Codable, Sendable {
        var applicationId: String
        var decision: LoanApplicationDecided.Decision
        var reasons: [String]
        var quota: LoanQuota
        var approvedFen: Fen
        /// Percent, exact (e.g. "2.600").
        var annualRate: String
        var firstPaymentFen: Fen?
        var loanId: String?
    }

    /// The facts of the applicant (and spouse) and the refusals they lead to.
    struct Assessment: Sendable {
        let applicant: LoanReadModels.Applicant
        let spouse: LoanReadModels.Applicant?
        /// The spouse's consent this assessment relied on (used up by an application).
        let consent: UUID?
        let facts: LoanFacts
        let quota: LoanQuota
        let reasons: [String]
        let investigation: [String: String]
    }

    func assess(_ body: Body, on date: BusinessDate, in db: DatabaseContext) async throws -> Assessment {
        let p = runtime.parameters
        guard let applicant = try await LoanReadModels.applicant(body.accountNumber, on: date, parameters: p, in: db) else {
            throw Problem.unknownAccount(body.accountNumber)
        }
        var spouse: LoanReadModels.Applicant?
        var consent: UUID?
        if let number = body.spouseAccountNumber {
            guard number != body.accountNumber else { throw Problem.malformed("spouseAccountNumber is the applicant's own account") }
            // Nobody can borrow on a stranger's balance by naming them: the spouse consents first, signed in.
            consent = try await SpouseConsents.unused(
                spouse: number, applicant: body.accountNumber, on: date, parameters: p,
                in: db)
            guard consent != nil else {
                throw Problem.rule(
                    "spouse_consent_missing",
                    "the spouse has not consented: the holder of \(number) posts /v1/accounts/\(number)/spouse-consents first")
            }
            // A spouse who is not a contributor still makes a couple; only a contributor's money counts.
            spouse = try await LoanReadModels.applicant(number, on: date, parameters: p, in: db)
        }
        let facts = LoanFacts(
            balanceFen: applicant.balanceFen + (spouse?.balanceFen ?? 0),
            averageMonthlyFen: applicant.averageMonthlyFen + (spouse?.averageMonthlyFen ?? 0),
            contributionMonths: applicant.contributionMonths, monthsPaidOfLast12: applicant.monthsPaidOfLast12,
            couple: body.spouseAccountNumber != nil,
            recentGraduate: applicant.bachelorOrAbove && Eligibility.isRecentGraduate(graduationDate: applicant.graduationDate, on: date, parameters: p),
            retirementMonth: applicant.retirementMonth)
        let request = LoanRequest(
            county: body.house.county, priceFen: body.house.priceFen, firstHome: body.house.firstHome,
            betterHousing: body.house.betterHousing, requestedFen: body.requestedFen, termMonths: body.termMonths,
            method: body.repaymentMethod, monthlyIncomeFen: body.monthlyIncomeFen, monthlyDebtFen: body.monthlyDebtFen)
        var reasons = LoanRules.refusals(facts: facts, request: request, on: date, parameters: p)
        if applicant.status != "active" { reasons.append("account_not_active") }
        // The household's: the applicant's and the spouse's (each read with their facts above).
        let outstanding = applicant.outstandingLoan || spouse?.outstandingLoan == true
        if outstanding { reasons.append("outstanding_hpf_loan") }
        // §13: an active bad-credit record (the registry's, or one of our overdue loans) blocks new loans.
        let badCredit = applicant.badCredit || spouse?.badCredit == true
        if badCredit { reasons.append("bad_credit") }
        let quota: LoanQuota
        do {
            quota = try LoanRules.quota(facts: facts, request: request, on: date, parameters: p)
        } catch {
            throw Problem.rule(AmountOverflow.code, "the plan's figures are beyond any loan: \(error.detail)")
        }
        if reasons.isEmpty, quota.quotaFen <= 0 {
            let code =
                switch quota.bindingFactor {
                case "repayment_capacity": "exceeds_repayment_capacity"
                case "loan_to_value": "exceeds_loan_to_value"
                case "requested": "requested_below_minimum"
                default: "linkage_quota_too_low"
                }
            reasons.append(code)
        }
        // §18 pre-loan investigation: what was checked, on which data (the latest ledger event applied).
        let investigation: [String: String] = [
            "contributionMonths": "\(facts.contributionMonths) (minimum \(p.loanMinimumContributionMonths.value(on: date)))",
            "houseCounty": body.house.county,
            "accountStatus": applicant.status,
            "householdOutstandingLoan": "\(outstanding)",
            "spouseContributor": "\(spouse != nil)",
            "dataAsOf": applicant.lastEventAt.map(Instant.format) ?? "no ledger event yet",
            "badCredit": "\(badCredit) (credit registry as of the latest enrolment event, and our overdue loans)",
        ]
        return Assessment(applicant: applicant, spouse: spouse, consent: consent, facts: facts, quota: quota, reasons: reasons, investigation: investigation)
    }

    static func validate(_ body: Body) throws {
        var errors: [Problem.FieldError] = []
        if body.requestedFen <= 0 { errors.append(.init(field: "requestedFen", message: "a positive number of fen")) }
        if body.termMonths <= 0 { errors.append(.init(field: "termMonths", message: "a positive number of months")) }
        if body.house.priceFen <= 0 { errors.append(.init(field: "house.priceFen", message: "a positive number of fen")) }
        if body.monthlyIncomeFen < 0 || body.monthlyDebtFen < 0 { errors.append(.init(field: "monthlyIncomeFen", message: "not negative")) }
        if body.house.county.count != 6 || !body.house.county.allSatisfy(\.isNumber) { errors.append(.init(field: "house.county", message: "a 6-digit code")) }
        guard errors.isEmpty else { throw Problem.malformed("some fields are invalid", errors: errors) }
    }

    /// `POST /v1/loan-applications` -> 201 with the decision.
    @Sendable func apply(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(Body.self, from: request)
        try Self.validate(body)
        try await runtime.authorize(context, account: body.accountNumber)
        let fingerprint = String(decoding: try HTTPJSON.encoder().encode(body), as: UTF8.self)
        let today = runtime.clock.today
        // One decision at a time per household: the outstanding-loan check reads the applicant's and
        // the spouse's loans, so an application locks both (a spouse applying alone at the same
        // moment waits, and then sees this loan); two concurrent applications cannot both pass the
        // check, and a copy of a request sent at once finds the first one's decision.
        let (decision, replay) = try await runtime.idempotentWrite(
            lock: ["loan:" + body.accountNumber] + (body.spouseAccountNumber.map { ["loan:" + $0] } ?? []), logger: context.logger,
            find: { db -> StoredRequest<UUID>? in
                guard let requestId = body.requestId else { return nil }
                for try await (id, print) in try await db.query(
                    """
                    SELECT application_id, fingerprint FROM applications WHERE account_number = \(body.accountNumber) AND request_id = \(requestId)
                    """
                ).decode((UUID, String).self) { return StoredRequest(fingerprint: print, stored: id) }
                return nil
            },
            fingerprint: fingerprint, mismatch: { Problem.requestIdReused(body.requestId ?? "") },
            replay: { id, db in
                guard let earlier = try await Self.load(id, in: db) else {
                    throw Problem.unavailable("application \(id) could not be read back")
                }
                return earlier
            }
        ) { db -> Decision in
            let assessment = try await assess(body, on: today, in: db)
            let quota = assessment.quota
            let approvedFen = assessment.reasons.isEmpty ? quota.quotaFen : 0
            let applicationId = UUID()
            var outcome: LoanApplicationDecided.Decision = assessment.reasons.isEmpty ? .approved : .rejected
            var reasons = assessment.reasons
            if outcome == .approved, quota.bindingFactor != "requested" { reasons.append("limited_by_\(quota.bindingFactor)") }
            let loanId: UUID? = outcome == .approved ? UUID() : nil
            let firstPayment =
                loanId == nil
                ? nil
                : LoanRules.schedule(
                    principal: approvedFen, annualRateMilliPercent: quota.annualRateMilliPercent,
                    months: body.termMonths, method: body.repaymentMethod
                ).first?.paymentFen
            let decided = Decided(
                id: applicationId, body: body, fingerprint: fingerprint, assessment: assessment, approvedFen: approvedFen,
                firstPayment: firstPayment, loanId: loanId, on: today)
            if let loanId {
                // §19: the pool's row stays locked from an approval's reservation to its commit, and
                // every approval meets there. So an approval writes everything else first (the
                // application, the loan, its schedule, its events) under a savepoint and takes the
                // pool last: approvals wait for each other only for the reservation and the commit.
                func approve() async throws -> Bool {
                    try await db.query("SAVEPOINT approval")
                    try await record(decided, outcome: .approved, reasons: reasons, in: db)
                    try await Loans.disbursementEffects(
                        loanId, applicationId: applicationId, account: body.accountNumber, principal: approvedFen,
                        rate: quota.annualRateMilliPercent, term: body.termMonths, method: body.repaymentMethod,
                        on: today, in: db)
                    return try await FundPool.reserve(approvedFen, in: db)
                }
                var reserved = try await approve()
                if !reserved {
                    // Too little at first sight: the liquidity being released at this moment (deposits,
                    // repayments not yet committed) is waited for and counted before the loan queues.
                    // The queue's lock is taken outside the savepoint (a rollback to it would drop the
                    // lock before the loan is queued), then the approval is tried once more.
                    try await db.query("ROLLBACK TO SAVEPOINT approval")
                    try await db.query("RELEASE SAVEPOINT approval")
                    try await FundPool.lockQueue(in: db)
                    reserved = try await approve()
                }
                if reserved {
                    // (The savepoint ends with the transaction: no round trip to release it while the pool is locked.)
                    try await Loans.activate(loanId, on: today, in: db)
                } else {
                    // Below the floor: none of the above happened; the loan waits for liquidity.
                    try await db.query("ROLLBACK TO SAVEPOINT approval")
                    outcome = .awaitingLiquidity
                    reasons.append("fund_pool_below_liquidity_floor")
                    try await record(decided, outcome: outcome, reasons: reasons, in: db)
                }
            } else {
                try await record(decided, outcome: outcome, reasons: reasons, in: db)
            }
            return Decision(
                applicationId: applicationId.uuidString.lowercased(), decision: outcome, reasons: reasons, quota: quota,
                approvedFen: approvedFen, annualRate: Self.percent(quota.annualRateMilliPercent), firstPaymentFen: firstPayment,
                loanId: loanId?.uuidString.lowercased())
        }
        return try HTTPJSON.response(replay ? .ok : .created, decision)
    }

    /// What one application decided, before its outcome is known to be approved or waiting.
    struct Decided: Sendable {
        let id: UUID
        let body: Body
        let fingerprint: String
        let assessment: Assessment
        let approvedFen: Fen
        let firstPayment: Fen?
        let loanId: UUID?
        let on: BusinessDate
    }

    /// The application's row, its `loan-application-decided` event, the spouse's consent used up
    /// and, when a loan was granted, the loan waiting for its disbursement.
    func record(_ decided: Decided, outcome: LoanApplicationDecided.Decision, reasons: [String], in db: DatabaseContext) async throws {
        let body = decided.body
        let quota = decided.assessment.quota
        let review = ["reviewer": "automatic rules (\(runtime.parameters.loanRates.entry(on: decided.on).source))", "decision": outcome.rawValue]
        let event = LoanApplicationDecided(
            applicationId: decided.id.uuidString.lowercased(), accountNumber: body.accountNumber, spouseAccountNumber: body.spouseAccountNumber,
            decision: outcome, reasons: reasons, requestedFen: body.requestedFen, approvedFen: decided.approvedFen, termMonths: body.termMonths,
            repaymentMethod: body.repaymentMethod, annualRateMilliPercent: quota.annualRateMilliPercent, quota: quota, decidedOn: decided.on)
        // The application and its event in one statement (one round trip fewer per decision).
        let statement = ApplicationRecord(
            applicationId: decided.id, accountNumber: body.accountNumber, spouseAccountNumber: body.spouseAccountNumber,
            request: decided.fingerprint, decision: outcome.rawValue, reasons: reasons, quota: try Self.json(quota),
            approvedFen: decided.approvedFen, annualRateMilliPercent: quota.annualRateMilliPercent, firstPaymentFen: decided.firstPayment,
            investigation: try Self.json(decided.assessment.investigation), review: try Self.json(review), requestId: body.requestId,
            fingerprint: decided.fingerprint, decidedOn: decided.on,
            event: try db.outboxRow(.loanApplicationDecided, event, account: body.accountNumber))
        for try await _ in try await db.execute(statement) {}
        Outbox.wrote(1)
        if let consent = decided.assessment.consent { try await SpouseConsents.use(consent, by: decided.id, in: db) }
        if let loanId = decided.loanId {
            try await db.query(
                """
                INSERT INTO loans (loan_id, application_id, account_number, person_ref, spouse_person_ref, principal_fen, outstanding_fen,
                    annual_rate_milli_percent, term_months, method, status)
                VALUES (\(loanId), \(decided.id), \(body.accountNumber), \(decided.assessment.applicant.personRef), \(decided.assessment.spouse?.personRef),
                    \(decided.approvedFen), \(decided.approvedFen), \(quota.annualRateMilliPercent), \(body.termMonths), \(body.repaymentMethod.rawValue),
                    'awaiting_liquidity')
                """)
        }
    }

    static func load(_ id: UUID, in db: DatabaseContext) async throws -> Decision? {
        let rows = try await db.query(
            """
            SELECT a.decision, a.reasons, a.quota::text, a.approved_fen, a.annual_rate_milli_percent, a.first_payment_fen, l.loan_id
            FROM applications a LEFT JOIN loans l ON l.application_id = a.application_id WHERE a.application_id = \(id)
            """)
        for try await (decision, reasons, quota, approved, rate, first, loan) in rows.decode((String, [String], String, Int64, Int64, Int64?, UUID?).self) {
            return Decision(
                applicationId: id.uuidString.lowercased(), decision: try .stored(decision, column: "loan_applications.decision"), reasons: reasons,
                quota: try JSONDecoder().decode(LoanQuota.self, from: Data(quota.utf8)), approvedFen: approved,
                annualRate: percent(rate), firstPaymentFen: first, loanId: loan?.uuidString.lowercased())
        }
        return nil
    }

    /// `GET /v1/loan-applications/{applicationId}`: the decision with the §18 records — the
    /// pre-loan investigation (what was checked, on which data) and the approval review.
    @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let text = try context.parameters.require("applicationId")
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("unknown_application", "no application \(text)") }
        struct Record: Codable {
            var decision: Decision
            var accountNumber: String
            var decidedOn: String
            var investigation: [String: String]
            var review: [String: String]
        }
        let record = try await runtime.reading(logger: context.logger) { db -> Record? in
            guard let decision = try await Self.load(id, in: db) else { return nil }
            for try await (account, on, investigation, review) in try await db.query(
                """
                SELECT account_number, decided_on, investigation::text, review::text FROM applications WHERE application_id = \(id)
                """
            ).decode((String, BusinessDate, String, String).self) {
                let decoder = JSONDecoder()
                return Record(
                    decision: decision, accountNumber: account, decidedOn: on.description,
                    investigation: try decoder.decode([String: String].self, from: Data(investigation.utf8)),
                    review: try decoder.decode([String: String].self, from: Data(review.utf8)))
            }
            return nil
        }
        guard let record else { throw Problem.notFound("unknown_application", "no application \(text)") }
        try await runtime.authorize(context, account: record.accountNumber, notFound: Problem.notFound("unknown_application", "no application \(text)"))
        return try HTTPJSON.response(.ok, record)
    }

    static func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try HTTPJSON.encoder().encode(value), as: UTF8.self) }

    /// 2600 thousandths of a percent -> "2.600".
    static func percent(_ milli: Int64) -> String { "\(milli / 1000).\(String(format: "%03d", milli % 1000))" }

    /// `GET /v1/accounts/{accountNumber}/loan-quota`: the same breakdown without applying. Query
    /// parameters describe the plan (all optional): county, priceFen, firstHome, green,
    /// improvement, tradeIn, requestedFen, termMonths, repaymentMethod, monthlyIncomeFen,
    /// monthlyDebtFen, spouseAccountNumber. What is not given does not limit the quota.
    @Sendable func quota(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        let q = QueryInput(request)
        let unlimited = InputRange.amountFen.upperBound  // what is not given never binds
        let today = runtime.clock.today
        let decision = try await runtime.reading(logger: context.logger) { db -> (Assessment, Int) in
            guard let applicant = try await LoanReadModels.applicant(number, on: today, parameters: runtime.parameters, in: db)
            else {
                throw Problem.unknownAccount(number)
            }
            let term =
                try q.integer("termMonths").map(Int.init)
                ?? LoanRules.maximumTerm(
                    retirementMonth: applicant.retirementMonth, on: today,
                    parameters: runtime.parameters)
            let body = Body(
                accountNumber: number, spouseAccountNumber: try q.text("spouseAccountNumber"),
                house: House(
                    county: try q.text("county") ?? "320706", priceFen: try q.integer("priceFen") ?? unlimited,
                    firstHome: try q.flag("firstHome") ?? true, green: try q.flag("green") ?? false,
                    improvement: try q.flag("improvement") ?? false, tradeIn: try q.flag("tradeIn") ?? false),
                requestedFen: try q.integer("requestedFen") ?? unlimited, termMonths: max(1, term),
                repaymentMethod: try q.choice("repaymentMethod", RepaymentMethod.self) ?? .equalInstallment,
                monthlyIncomeFen: try q.integer("monthlyIncomeFen") ?? unlimited, monthlyDebtFen: try q.integer("monthlyDebtFen") ?? 0)
            return (try await assess(body, on: today, in: db), max(1, term))
        }
        struct Answer: Codable {
            var accountNumber: String
            var eligible: Bool
            var reasons: [String]
            var termMonths: Int
            var quota: LoanQuota
            var annualRate: String
        }
        let (assessment, term) = decision
        return try HTTPJSON.response(
            .ok,
            Answer(
                accountNumber: number, eligible: assessment.reasons.isEmpty, reasons: assessment.reasons,
                termMonths: term, quota: assessment.quota, annualRate: Self.percent(assessment.quota.annualRateMilliPercent)))
    }
}
