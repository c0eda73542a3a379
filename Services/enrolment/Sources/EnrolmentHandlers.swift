import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// The enrolment and account endpoints.
struct EnrolmentHandlers: Sendable {
    let runtime: ServiceRuntime
    let hasher: PersonRefHasher

    init(runtime: ServiceRuntime) {
        self.runtime = runtime
        hasher = runtime.personRefHasher
    }

    struct Enrolled: Codable {
        var accountNumber: String
        var status: String
        var monthlyMinimumFen: Fen
        var minimumPerPaymentFen: Fen
    }

    /// `POST /v1/enrolments`
    @Sendable func enrol(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(EnrolmentRequest.self, from: request)
        let today = runtime.clock.today
        let applicant = try EnrolmentDecision.decide(body, on: today, parameters: runtime.parameters)
        let personRef = hasher.ref(applicant.id)
        // A citizen enrols only themselves: the ID number must be the one their token was issued for.
        if let caller = context.caller?.citizenRef, caller != personRef {
            throw Problem.forbidden(code: "not_own_id_number", "a citizen may enrol only with their own ID number")
        }
        let enrolledBy = context.caller?.staffId
        let perPayment = ContributionRules.minimumPerPayment(
            county: body.county, schedule: body.agreement.schedule, on: today,
            parameters: runtime.parameters)!

        let accountNumber: String = try await runtime.idempotentTransaction(logger: context.logger) { db in
            if try await CreditQueries.hasActiveRecord(personRef: personRef, on: today, in: db) {
                throw Problem.rule("bad_credit", "an active bad-credit record blocks enrolment (§1, §13)")
            }
            // Serialise enrolments of one person so the active-account check cannot race.
            try await db.query("SELECT pg_advisory_xact_lock(hashtext(\(personRef)))")
            for try await _ in try await db.query(
                "SELECT 1 FROM accounts WHERE person_ref = \(personRef) AND status = 'active'")
            {
                throw Problem.conflict("already_enrolled", "this person already has an active account")
            }
            var number = ""
            for try await seq in try await db.query("SELECT nextval('account_number_seq')").decode(Int64.self) {
                number = runtime.parameters.cityCode.value + String(format: "%010lld", seq)
            }
            let edu = body.education
            let cipher = runtime.personalData
            let name = try cipher.seal(body.name, SealedAccountData.name, row: number)
            let phone = try cipher.seal(body.phone, SealedAccountData.phone, row: number)
            let payoutAccount = try cipher.seal(body.payoutBankAccount, SealedAccountData.payoutBankAccount, row: number)
            try await db.query(
                """
                INSERT INTO accounts (account_number, person_ref, id_number_masked, name, phone, employment_type, industry, role,
                    county, residence, children_count, education_level, graduation_date, retirement_group, retirement_month,
                    schedule, agreement_amount_fen, channel, monthly_minimum_fen, status, opened_on, enrolled_by, payout_bank_account)
                VALUES (\(number), \(personRef), \(applicant.id.masked), \(name), \(phone), \(body.employmentType.rawValue),
                    \(body.industry.rawValue), \(body.role.rawValue), \(body.county), \(body.residence.rawValue), \(body.childrenCount),
                    \(edu.level.rawValue), \(edu.graduationDate), \(applicant.group.rawValue),
                    \(applicant.retirementMonth), \(body.agreement.schedule.rawValue), \(body.agreement.amountFen),
                    \(body.agreement.channel.rawValue), \(applicant.monthlyMinimum), 'active', \(today), \(enrolledBy), \(payoutAccount))
                """)
            try await db.query(
                """
                INSERT INTO agreement_history (account_number, version, schedule, amount_fen, channel, effective_on)
                VALUES (\(number), 1, \(body.agreement.schedule.rawValue), \(body.agreement.amountFen), \(body.agreement.channel.rawValue), \(today))
                """)
            let opened = AccountOpened(
                accountNumber: number, personRef: personRef, openedOn: today, county: body.county, residence: body.residence,
                industry: body.industry, role: body.role, employmentType: body.employmentType, childrenCount: body.childrenCount,
                education: body.education, retirementMonth: applicant.retirementMonth, agreement: body.agreement,
                monthlyMinimumFen: applicant.monthlyMinimum, veteran: body.veteran,
                payoutAccountRef: body.payoutBankAccount.map { hasher.ref(bankAccount: $0) })
            try await db.emit(.accountOpened, opened, account: number)
            return number
        }
        try runtime.authorize(context, account: accountNumber, ownerRef: personRef)
        context.logger.info("account opened", metadata: ["accountNumber": "\(accountNumber)", "idNumber": "\(applicant.id.masked)"])
        return try HTTPJSON.response(
            .created,
            Enrolled(
                accountNumber: accountNumber, status: "active",
                monthlyMinimumFen: applicant.monthlyMinimum, minimumPerPaymentFen: perPayment))
    }

    struct AccountView: Codable {
        var accountNumber: String
        var status: String
        var name: String
        var idNumber: String
        var phone: String
        var employmentType: String
        var industry: String
        var role: String
        var county: String
        var residence: String
        var childrenCount: Int
        var education: Education
        var retirementGroup: String
        var agreement: Agreement
        var monthlyMinimumFen: Fen
        var openedOn: String
        /// When the ledger closed it, and why (closed accounts only).
        var closedOn: String?
        var closureReason: String?
    }

    /// `GET /v1/accounts/{accountNumber}`: the resident ID and phone are masked.
    @Sendable func account(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        guard let view = try await loadAccount(number) else {
            throw Problem.unknownAccount(number)
        }
        return try HTTPJSON.response(.ok, view)
    }

    func loadAccount(_ number: String) async throws -> AccountView? {
        let rows = try await runtime.database.query(
            """
            SELECT account_number, status, name, id_number_masked, phone, employment_type, industry, role, county, residence,
                   children_count, education_level, graduation_date, retirement_group, schedule, agreement_amount_fen, channel,
                   monthly_minimum_fen, opened_on, closed_on, closure_reason
            FROM accounts WHERE account_number = \(number)
            """)
        for try await row in rows {
            let column = NamedColumns(row, table: "accounts")
            let number: String = try column("account_number")
            let phone = try runtime.personalData.open(try column("phone"), SealedAccountData.phone, row: number)
            return AccountView(
                accountNumber: number, status: try column("status"),
                name: try runtime.personalData.open(try column("name"), SealedAccountData.name, row: number),
                idNumber: try column("id_number_masked"), phone: String(phone.prefix(3)) + "****" + String(phone.suffix(4)),
                employmentType: try column("employment_type"), industry: try column("industry"), role: try column("role"),
                county: try column("county"), residence: try column("residence"), childrenCount: try column("children_count"),
                education: Education(level: try column.stored("education_level"), graduationDate: try column("graduation_date")),
                retirementGroup: try column("retirement_group"),
                agreement: Agreement(
                    schedule: try column.stored("schedule"), amountFen: try column("agreement_amount_fen"), channel: try column.stored("channel")),
                monthlyMinimumFen: try column("monthly_minimum_fen"), openedOn: try column("opened_on", as: BusinessDate.self).description,
                closedOn: try column("closed_on", as: BusinessDate?.self)?.description, closureReason: try column("closure_reason"))
        }
        return nil
    }

    /// `PUT /v1/accounts/{accountNumber}/agreement`: a new agreement version, effective today.
    @Sendable func changeAgreement(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        let change = try await HTTPJSON.decode(AgreementChange.self, from: request)
        let agreement = change.agreement
        if let account = change.payoutBankAccount, !BankAccountNumber.isValid(account) {
            throw Problem.malformed("payoutBankAccount must be 8 to 32 digits", errors: [.init(field: "payoutBankAccount", message: "8 to 32 digits")])
        }
        let today = runtime.clock.today
        try await runtime.idempotentTransaction(logger: context.logger) { db in
            var county: String?
            for try await (c, status) in try await db.query(
                "SELECT county, status FROM accounts WHERE account_number = \(number) FOR UPDATE"
            ).decode((String, String).self) {
                guard status == "active" else { throw Problem.rule("account_not_active", "account \(number) is \(status)") }
                county = c
            }
            guard let county else { throw Problem.unknownAccount(number) }
            try EnrolmentDecision.checkAgreement(agreement, county: county, on: today, parameters: runtime.parameters)
            let payoutAccount = try runtime.personalData.seal(change.payoutBankAccount, SealedAccountData.payoutBankAccount, row: number)
            try await db.query(
                """
                UPDATE accounts SET schedule = \(agreement.schedule.rawValue), agreement_amount_fen = \(agreement.amountFen),
                    channel = \(agreement.channel.rawValue), payout_bank_account = coalesce(\(payoutAccount), payout_bank_account)
                WHERE account_number = \(number)
                """)
            try await db.query(
                """
                INSERT INTO agreement_history (account_number, version, schedule, amount_fen, channel, effective_on)
                SELECT \(number), coalesce(max(version), 0) + 1, \(agreement.schedule.rawValue), \(agreement.amountFen),
                       \(agreement.channel.rawValue), \(today)
                FROM agreement_history WHERE account_number = \(number)
                """)
            let changed = AgreementChanged(
                accountNumber: number, agreement: agreement, changedOn: today,
                payoutAccountRef: change.payoutBankAccount.map { hasher.ref(bankAccount: $0) })
            try await db.emit(.agreementChanged, changed, account: number)
        }
        guard let view = try await loadAccount(number) else { throw Problem.unknownAccount(number) }
        return try HTTPJSON.response(.ok, view)
    }

    /// The body of `PUT /v1/accounts/{accountNumber}/agreement`: the agreement, and optionally a new
    /// payout bank account.
    struct AgreementChange: Decodable {
        var agreement: Agreement
        var payoutBankAccount: String?

        enum CodingKeys: String, CodingKey { case payoutBankAccount }

        init(from decoder: any Decoder) throws {
            agreement = try Agreement(from: decoder)
            payoutBankAccount = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .payoutBankAccount)
        }
    }

    struct Statistics: Codable {
        struct Group: Codable { var key: String; var count: Int64 }
        var groupBy: String
        var activeAccounts: Int64
        var groups: [Group]
    }

    /// `GET /v1/statistics?groupBy=industry|role|county|residence|employmentType` (§14-16).
    @Sendable func statistics(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let columns = ["industry": "industry", "role": "role", "county": "county", "residence": "residence", "employmentType": "employment_type"]
        let groupBy = try QueryInput(request).text("groupBy") ?? "industry"
        guard let column = columns[groupBy] else {
            throw Problem.malformed(
                "groupBy must be one of \(columns.keys.sorted().joined(separator: ", "))",
                errors: [.init(field: "groupBy", message: "unknown dimension")])
        }
        // `column` comes from the fixed table above, never from the request.
        let rows = try await runtime.database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(column), count(*) FROM accounts WHERE status = 'active' GROUP BY 1 ORDER BY 2 DESC, 1
                    """))
        var groups: [Statistics.Group] = []
        for try await (key, count) in rows.decode((String, Int64).self) { groups.append(.init(key: key, count: count)) }
        return try HTTPJSON.response(.ok, Statistics(groupBy: groupBy, activeAccounts: groups.reduce(0) { $0 + $1.count }, groups: groups))
    }
}
