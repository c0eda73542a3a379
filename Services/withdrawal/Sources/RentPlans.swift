import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §8 按月提取直付租金: each month of a plan is one rent withdrawal paid directly to the landlord
/// or agency. One month is in flight at a time; a month the balance cannot cover pauses the plan
/// (`paused`, `insufficient_balance`) until a ledger event shows a balance that covers it.
enum RentPlans {
    struct Body: Codable, Sendable {
        var accountNumber: String
        var payee: Payee
        var leaseContractNumber: String
        var monthlyRentFen: Fen
        var monthlyFen: Fen
        var months: Int
        /// The first month paid; this month when absent.
        var firstMonth: YearMonth?
        var requestId: String?
    }

    struct View: Codable, Sendable {
        struct Month: Codable, Sendable {
            var month: String
            var withdrawalId: String
            var status: String
            var code: String?
        }
        var planId: String
        var accountNumber: String
        var status: String
        var pausedCode: String?
        var monthlyFen: Fen
        var months: Int
        var monthsPaid: Int
        var firstMonth: String
        var nextMonth: String?
        var payee: WithdrawalView.PayeeView
        var history: [Month]?
    }

    // MARK: HTTP

    struct Handlers: Sendable {
        let runtime: ServiceRuntime

        /// `POST /v1/rent-plans` -> 201 with the plan (and its first month requested when due).
        @Sendable func create(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let body = try await HTTPJSON.decode(Body.self, from: request)
            try await runtime.authorize(context, account: body.accountNumber)
            var errors = PayeeRules.errors(body.payee)
            if body.payee.kind != .landlord && body.payee.kind != .agency {
                errors.append(.init(field: "payee.kind", message: "rent is paid directly to a landlord or agency (§8)"))
            }
            if body.leaseContractNumber.isEmpty || body.leaseContractNumber.count > 64 {
                errors.append(.init(field: "leaseContractNumber", message: "1 to 64 characters"))
            }
            if body.monthlyRentFen <= 0 { errors.append(.init(field: "monthlyRentFen", message: "a positive number of fen")) }
            if body.monthlyFen <= 0 { errors.append(.init(field: "monthlyFen", message: "a positive number of fen")) }
            guard errors.isEmpty else { throw Problem.malformed("some fields are invalid", errors: errors) }
            let today = runtime.clock.today
            let first = body.firstMonth ?? today.yearMonth
            if first < today.yearMonth { throw Problem.rule("first_month_in_past", "the first month may not be before \(today.yearMonth)") }
            if let refusal = WithdrawalRules.rentRefusal(
                monthlyFen: body.monthlyFen, monthlyRentFen: body.monthlyRentFen, months: body.months,
                on: today, parameters: runtime.parameters)
            {
                throw Problem.rule(refusal.code, refusal.detail)
            }
            let fingerprint = String(decoding: try HTTPJSON.encoder().encode(body), as: UTF8.self)
            // The answer is read inside the transaction: an outage after the commit cannot turn a done write into a 503.
            @Sendable func answer(_ id: UUID, _ db: DatabaseContext) async throws -> View {
                guard let view = try await load(id, in: db) else {
                    throw Problem.unavailable("the plan could not be read back")
                }
                return view
            }
            // One lease at a time: copies of one request sent at once find the first one's plan
            // (a replay) before the one-open-plan rule could see it as a rival.
            let (view, replay) = try await runtime.idempotentWrite(
                lock: ["lease:" + body.leaseContractNumber], logger: context.logger,
                find: { db -> StoredRequest<UUID>? in
                    guard let requestId = body.requestId else { return nil }
                    for try await (id, print) in try await db.query(
                        """
                        SELECT plan_id, fingerprint FROM rent_plans WHERE account_number = \(body.accountNumber) AND request_id = \(requestId)
                        """
                    ).decode((UUID, String).self) { return StoredRequest(fingerprint: print, stored: id) }
                    return nil
                },
                fingerprint: fingerprint, mismatch: { Problem.requestIdReused(body.requestId ?? "") },
                replay: answer
            ) { db -> View in
                guard let account = try await WithdrawalAccounts.load(body.accountNumber, shared: true, in: db) else {
                    throw Problem.unknownAccount(body.accountNumber)
                }
                guard account.status == "active" else { throw Problem.rule("account_not_active", "account \(body.accountNumber) is \(account.status)") }
                for try await _ in try await db.query(
                    """
                    SELECT 1 FROM rent_plans WHERE lease_contract = \(body.leaseContractNumber) AND status IN ('active', 'paused')
                    """)
                {
                    throw Problem.rule("lease_already_used", "lease \(body.leaseContractNumber) already has an open rent plan")
                }
                // §8 across requests: the plan's months, beside whatever else pays rent from this account.
                try await RentMonths.lock(body.accountNumber, in: db)
                let shares = (0..<body.months).map { (month: first.adding(months: $0), fen: body.monthlyFen) }
                try await RentMonths.check(body.accountNumber, shares: shares, monthlyRentFen: body.monthlyRentFen, in: db)
                let id = UUID()
                let payee = try runtime.personalData.sealJSON(body.payee, SealedWithdrawalData.planPayee, row: id.uuidString.lowercased())
                try await db.query(
                    """
                    INSERT INTO rent_plans (plan_id, account_number, payee, lease_contract, monthly_rent_fen, monthly_fen, months, first_month,
                        next_month, status, request_id, fingerprint)
                    VALUES (\(id), \(body.accountNumber), to_jsonb(\(payee)::text), \(body.leaseContractNumber), \(body.monthlyRentFen), \(body.monthlyFen),
                        \(body.months), \(first), \(first), 'active', \(body.requestId), \(fingerprint))
                    """)
                try await RentMonths.hold(body.accountNumber, shares: shares, plan: id, in: db)
                _ = try await issueDue(asOf: today, plan: id, in: db)
                return try await answer(id, db)
            }
            return try HTTPJSON.response(replay ? .ok : .created, view)
        }

        @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
            let text = try context.parameters.require("planId")
            guard let id = UUID(uuidString: text), let view = try await load(id, runtime: runtime) else {
                throw Problem.notFound("unknown_rent_plan", "no rent plan \(text)")
            }
            try await runtime.authorize(context, account: view.accountNumber, notFound: Problem.notFound("unknown_rent_plan", "no rent plan \(text)"))
            return try HTTPJSON.response(.ok, view)
        }
    }

    static func load(_ id: UUID, runtime: ServiceRuntime) async throws -> View? {
        try await runtime.reading { db in try await load(id, in: db) }
    }

    static func load(_ id: UUID, in db: DatabaseContext) async throws -> View? {
        do {
            var view: View?
            for try await row in try await db.query(
                """
                SELECT account_number, status, paused_code, monthly_fen, months, months_paid, first_month, next_month, payee #>> '{}' AS payee
                FROM rent_plans WHERE plan_id = \(id)
                """)
            {
                let c = NamedColumns(row, table: "rent_plans")
                let p = try db.runtime.personalData.openJSON(Payee.self, try c("payee"), SealedWithdrawalData.planPayee, row: id.uuidString.lowercased())
                let (months, paid): (Int, Int) = (try c("months"), try c("months_paid"))
                view = View(
                    planId: id.uuidString.lowercased(), accountNumber: try c("account_number"), status: try c("status"), pausedCode: try c("paused_code"),
                    monthlyFen: try c("monthly_fen"), months: months, monthsPaid: paid, firstMonth: try c("first_month"),
                    nextMonth: paid < months ? try c("next_month") : nil,
                    payee: .init(kind: p.kind, name: p.name, bankAccount: p.maskedBankAccount, bankName: p.bankName))
            }
            guard var found = view else { return nil }
            var history: [View.Month] = []
            for try await (month, withdrawal, stage, code) in try await db.query(
                """
                SELECT plan_month, withdrawal_id, stage, code FROM withdrawals WHERE rent_plan_id = \(id) ORDER BY created_at
                """
            ).decode((String, UUID, String, String?).self) {
                history.append(
                    .init(
                        month: month, withdrawalId: withdrawal.uuidString.lowercased(),
                        status: Withdrawals.Stage(rawValue: stage)?.status ?? stage, code: code))
            }
            found.history = history
            return found
        }
    }

    // MARK: The months

    /// Requests the due month of every active plan with nothing in flight (or of `plan` only):
    /// a month is due from the rent payment day. Returns how many months were requested.
    static func issueDue(asOf: BusinessDate, plan: UUID? = nil, in db: DatabaseContext) async throws -> Int {
        let lastDueMonth = WithdrawalRules.lastDueRentMonth(asOf: asOf, parameters: db.parameters)
        let rows = try await db.query(
            """
            SELECT plan_id, account_number, payee #>> '{}', lease_contract, monthly_rent_fen, monthly_fen, next_month FROM rent_plans
            WHERE status = 'active' AND in_flight IS NULL AND months_paid < months AND next_month <= \(lastDueMonth)
              AND (\(plan)::uuid IS NULL OR plan_id = \(plan))
            ORDER BY next_month LIMIT 500
            FOR UPDATE SKIP LOCKED
            """)
        var due: [(UUID, String, String, String, Int64, Int64, YearMonth)] = []
        for try await row in rows.decode((UUID, String, String, String, Int64, Int64, YearMonth).self) { due.append(row) }
        var issued = 0
        for (id, account, payeeJSON, lease, rent, monthly, month) in due {
            let evidence = WithdrawalRequest.Evidence(leaseContractNumber: lease, monthlyRentFen: rent, months: 1)
            let new = Withdrawals.New(
                account: account, reason: .rent, requestedFen: monthly, closureReason: nil,
                payee: try db.runtime.personalData.openJSON(
                    Payee.self, payeeJSON, SealedWithdrawalData.planPayee,
                    row: id.uuidString.lowercased()),
                evidenceJSON: String(decoding: try JSONEncoder().encode(evidence), as: UTF8.self),
                evidenceKey: "rent:\(lease)", requestId: nil, fingerprint: "rent-plan:\(id):\(month)",
                rentPlanId: id, planMonth: month)
            try await Withdrawals.create(new, in: db)
            try await db.query("UPDATE rent_plans SET in_flight = \(new.id), updated_at = now() WHERE plan_id = \(id)")
            issued += 1
        }
        return issued
    }

    /// A month was paid: the plan moves on, and the next month is requested at once if it is due.
    static func monthPaid(_ withdrawal: Withdrawals.Record, in db: DatabaseContext) async throws {
        guard let plan = withdrawal.rentPlanId, let month = withdrawal.planMonth else { return }
        try await db.query(
            """
            UPDATE rent_plans SET months_paid = months_paid + 1, next_month = \(month.adding(months: 1)), in_flight = NULL,
                status = CASE WHEN months_paid + 1 >= months THEN 'completed' ELSE status END, updated_at = now()
            WHERE plan_id = \(plan) AND in_flight = \(withdrawal.id)
            """)
        _ = try await issueDue(asOf: db.today, plan: plan, in: db)
    }

    /// A month was refused or its payout failed: the plan pauses with the code; the month stays due.
    static func monthFailed(_ withdrawal: Withdrawals.Record, in db: DatabaseContext) async throws {
        guard let plan = withdrawal.rentPlanId else { return }
        try await db.query(
            """
            UPDATE rent_plans SET status = 'paused', paused_code = \(withdrawal.code), in_flight = NULL, updated_at = now()
            WHERE plan_id = \(plan) AND in_flight = \(withdrawal.id) AND status = 'active'
            """)
    }

    /// The account's balance as the ledger last reported it is stored (an account's ledger events
    /// arrive in the ledger's order, one partition per account, so the latest one seen holds the
    /// current balance), and if it covers a paused plan's month, the plan resumes and requests the
    /// month. One statement for both: every ledger event comes here.
    static func balanceSeen(_ balance: Fen, account: String, in db: DatabaseContext) async throws {
        var balances = PerAccount<Fen>()
        balances.keepLast(account, balance)
        for resumed in try await balancesSeen(balances, in: db) { _ = try await issueDue(asOf: db.today, plan: resumed.plan, in: db) }
    }

    /// `balanceSeen` for several accounts in one statement, each with the balance its last event
    /// reported (a poll's contributions, #15), but the caller requests the resumed plans' months
    /// (each under the event that resumed it). Contributions only raise a balance, so a plan the
    /// run's earlier balances would have resumed, its last resumes too.
    static func balancesSeen(_ balances: PerAccount<Fen>, in db: DatabaseContext) async throws -> [(plan: UUID, account: String)] {
        let seen = balances.accounts
        let rows = try await db.query(
            """
            WITH seen AS (SELECT * FROM unnest(\(seen.map(\.account))::text[], \(seen.map(\.value))::bigint[]) AS s(account_number, balance_fen)),
            stored AS (UPDATE accounts a SET balance_fen = s.balance_fen FROM seen s WHERE a.account_number = s.account_number)
            UPDATE rent_plans p SET status = 'active', paused_code = NULL, updated_at = now()
            FROM seen s
            WHERE p.account_number = s.account_number AND p.status = 'paused' AND p.paused_code = 'insufficient_balance'
              AND p.monthly_fen <= s.balance_fen
            RETURNING p.plan_id, p.account_number
            """)
        var resumed: [(plan: UUID, account: String)] = []
        for try await (plan, account) in rows.decode((UUID, String).self) { resumed.append((plan, account)) }
        return resumed
    }

    static func accountClosed(_ account: String, in db: DatabaseContext) async throws {
        try await db.query(
            """
            UPDATE rent_plans SET status = 'cancelled', paused_code = 'account_closed', updated_at = now()
            WHERE account_number = \(account) AND status IN ('active', 'paused')
            """)
    }
}
