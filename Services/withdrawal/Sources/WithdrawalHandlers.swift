import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// `POST /v1/withdrawals` starts the saga (202, `pending`); `GET` answers where it stands.
struct WithdrawalHandlers: Sendable {
    let runtime: ServiceRuntime

    @Sendable func request(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(WithdrawalRequest.self, from: request)
        try body.validate()
        try await runtime.authorize(context, account: body.accountNumber)
        // Closing the account of someone who died is staff work, on the death certificate (§16).
        if body.reason == .closure, body.evidence.closureReason == .death, context.caller?.isStaff != true {
            throw Problem.forbidden(code: "staff_only_closure", "a closure by death is made by staff with the death certificate")
        }
        let hasher = runtime.personRefHasher
        // Copies of one request sent at once queue on its key, so each later copy finds the first
        // one's withdrawal (and answers as a replay) before any rule can see it as a rival.
        let (record, replay) = try await runtime.idempotentWrite(
            lock: body.requestId.map { ["withdrawal-request:\(body.accountNumber):\($0)"] } ?? [], logger: context.logger,
            find: { db -> StoredRequest<Withdrawals.Record>? in
                guard let requestId = body.requestId,
                    let existing = try await existing(account: body.accountNumber, requestId: requestId, in: db)
                else { return nil }
                return StoredRequest(fingerprint: existing.fingerprint, stored: existing)
            },
            fingerprint: body.fingerprint, mismatch: { Problem.requestIdReused(body.requestId ?? "") },
            replay: { existing, _ in existing }
        ) { db -> Withdrawals.Record in
            guard let account = try await WithdrawalAccounts.load(body.accountNumber, in: db) else {
                throw Problem.unknownAccount(body.accountNumber)
            }
            guard account.status == "active" else { throw Problem.rule("account_not_active", "account \(body.accountNumber) is \(account.status)") }
            var already: Fen = 0
            if let key = body.evidenceKey, [.purchase, .selfBuild, .repayment].contains(body.reason) {
                // Serialise requests on one document so two cannot both pass the checks below.
                try await db.query("SELECT pg_advisory_xact_lock(hashtext(\(key)))")
                let used = try await usage(of: key, account: body.accountNumber, in: db)
                // A house or a permit is drawn on once per account; a loan may be repaid again, within its outstanding amount.
                if used.byThisAccount, body.reason != .repayment {
                    throw body.reason == .purchase
                        ? Problem.rule("contract_already_used", "this account already withdrew on purchase contract \(body.evidence.contractNumber ?? "")")
                        : Problem.rule("permit_already_used", "this account already withdrew on building permit \(body.evidence.permitNumber ?? "")")
                }
                already = used.totalFen
            }
            let facts = WithdrawerFacts(
                rural: account.rural, retirementMonth: account.retirementMonth,
                alreadyWithdrawnOnEvidenceFen: already)
            if let refusal = WithdrawalRules.refusal(for: body.claim, facts: facts, today: runtime.clock.today, parameters: runtime.parameters) {
                throw Problem.rule(refusal.code, refusal.detail)
            }
            if let refusal = PayeeRules.refusal(body, registeredRef: account.payoutAccountRef, refOf: hasher.ref(bankAccount:)) { throw refusal }
            // §8 across requests: the months this rent withdrawal covers, from this month on, within the monthly limit.
            var rentShares: [(month: YearMonth, fen: Fen)] = []
            if body.reason == .rent, let amount = body.amountFen, let rent = body.evidence.monthlyRentFen {
                try await RentMonths.lock(body.accountNumber, in: db)
                rentShares = WithdrawalRules.rentShares(amountFen: amount, months: body.evidence.months ?? 1, from: runtime.clock.today.yearMonth)
                try await RentMonths.check(body.accountNumber, shares: rentShares, monthlyRentFen: rent, in: db)
            }
            let new = Withdrawals.New(
                account: body.accountNumber, reason: body.reason, requestedFen: body.amountFen,
                closureReason: body.evidence.closureReason, payee: body.payee,
                evidenceJSON: String(decoding: try JSONEncoder().encode(body.evidence), as: UTF8.self),
                evidenceKey: body.evidenceKey, requestId: body.requestId, fingerprint: body.fingerprint)
            let created = try await Withdrawals.create(new, in: db)
            try await RentMonths.hold(body.accountNumber, shares: rentShares, withdrawal: created.id, in: db)
            return created
        }
        return try HTTPJSON.response(replay ? .ok : .accepted, try WithdrawalView(record, cipher: runtime.personalData))
    }

    private func existing(account: String, requestId: String, in db: DatabaseContext) async throws -> Withdrawals.Record? {
        let rows = try await db.query(
            """
            SELECT \(unescaped: Withdrawals.columns) FROM withdrawals WHERE account_number = \(account) AND request_id = \(requestId)
            """)
        return try await Withdrawals.records(rows).first
    }

    /// What withdrawals that are not rejected took on one document, and whether this account is one of them.
    private func usage(of key: String, account: String, in db: DatabaseContext) async throws -> (totalFen: Fen, byThisAccount: Bool) {
        let rows = try await db.query(
            """
            SELECT coalesce(sum(coalesce(amount_fen, requested_fen)), 0)::bigint, coalesce(bool_or(account_number = \(account)), false)
            FROM withdrawals WHERE evidence_key = \(key) AND stage <> 'rejected'
            """)
        for try await (total, mine) in rows.decode((Int64, Bool).self) { return (total, mine) }
        return (0, false)
    }

    @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let text = try context.parameters.require("withdrawalId")
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("unknown_withdrawal", "no withdrawal \(text)") }
        let found = try await runtime.reading(logger: context.logger) { db -> (Withdrawals.Record, [WithdrawalView.Step])? in
            guard let record = try await Withdrawals.load(id, in: db) else { return nil }
            var steps: [WithdrawalView.Step] = []
            for try await (stage, code, at) in try await db.query(
                """
                SELECT stage, code, at FROM withdrawal_steps WHERE withdrawal_id = \(id) ORDER BY step_id
                """
            ).decode((String, String?, Date).self) {
                steps.append(.init(stage: stage, code: code, at: Instant.format(at)))
            }
            return (record, steps)
        }
        guard let (record, steps) = found else { throw Problem.notFound("unknown_withdrawal", "no withdrawal \(text)") }
        try await runtime.authorize(context, account: record.account, notFound: Problem.notFound("unknown_withdrawal", "no withdrawal \(text)"))
        var view = try WithdrawalView(record, cipher: runtime.personalData)
        view.steps = steps
        return try HTTPJSON.response(.ok, view)
    }

    struct AccountWithdrawals: Codable {
        var accountNumber: String
        /// `active` or `closed`, as the ledger's events last said.
        var accountStatus: String
        var paidFen: Fen
        var withdrawals: [WithdrawalView]
    }

    /// `GET /v1/accounts/{accountNumber}/withdrawals`: newest first, at most `limit` (default 50, up to 500).
    @Sendable func list(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let number = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: number)
        let limit = Int(try QueryInput(request).integer("limit", range: InputRange.pageLimit) ?? 50)
        let found = try await runtime.reading(logger: context.logger) { db -> (String, [Withdrawals.Record])? in
            guard let account = try await WithdrawalAccounts.load(number, in: db) else { return nil }
            return (
                account.status,
                try await Withdrawals.records(
                    try await db.query(
                        """
                        SELECT \(unescaped: Withdrawals.columns) FROM withdrawals WHERE account_number = \(number)
                        ORDER BY created_at DESC LIMIT \(limit)
                        """))
            )
        }
        guard let (status, records) = found else { throw Problem.unknownAccount(number) }
        let paid = records.filter { $0.stage == .paid }.reduce(0) { $0 + ($1.amountFen ?? 0) }
        return try HTTPJSON.response(
            .ok,
            AccountWithdrawals(
                accountNumber: number, accountStatus: status, paidFen: paid,
                withdrawals: try records.map { try WithdrawalView($0, cipher: runtime.personalData) }))
    }
}

/// A withdrawal as responses show it; the payee's bank account is masked.
struct WithdrawalView: Codable, Sendable {
    struct PayeeView: Codable, Sendable {
        var kind: Payee.Kind
        var name: String
        var bankAccount: String
        var bankName: String?
    }

    struct Step: Codable, Sendable {
        var stage: String
        var code: String?
        var at: String
    }

    var withdrawalId: String
    var accountNumber: String
    var reason: WithdrawalReason
    var status: String
    var stage: String
    var code: String?
    var detail: String?
    var requestedFen: Fen?
    var amountFen: Fen?
    var closureReason: ClosureReason?
    var payee: PayeeView
    var payoutId: String?
    var rentPlanId: String?
    var planMonth: String?
    var requestedOn: String
    var paidOn: String?
    var steps: [Step]?

    init(_ r: Withdrawals.Record, cipher: PersonalDataCipher) throws {
        withdrawalId = r.id.uuidString.lowercased()
        accountNumber = r.account
        reason = r.reason
        status = r.stage.status
        stage = r.stage.rawValue
        code = r.code
        detail = r.detail
        requestedFen = r.requestedFen
        amountFen = r.amountFen
        closureReason = r.closureReason
        let full = try r.payee(cipher)
        payee = PayeeView(kind: full.kind, name: full.name, bankAccount: full.maskedBankAccount, bankName: full.bankName)
        payoutId = r.payoutId?.uuidString.lowercased()
        rentPlanId = r.rentPlanId?.uuidString.lowercased()
        planMonth = r.planMonth?.description
        requestedOn = r.requestedOn
        paidOn = r.paidOn
    }
}
