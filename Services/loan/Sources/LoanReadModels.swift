import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The applicant's facts, built from events only (§6: no documents to bring, no call to another
/// service): the profile from enrolment; contribution months, amounts and the balance from the
/// ledger (each ledger event carries the balance after it, in per-account order). The ledger's
/// answers to repayments from the HPF balance arrive here too. Whatever raises a balance may bring
/// the fund pool back above its floor, so it releases queued loans (`FundPool.release`).
enum LoanReadModels {
    /// The three read models, each with its projection: `hpfctl rebuild loan <name>` replays it.
    static func readModels(runtime: ServiceRuntime) -> [ReadModel] {
        let logger = runtime.logger
        return [
            ReadModel(
                name: "participants", consumer: "loan-participants", topics: [.enrolmentEvents], tables: ["participants", "credit_records"],
                projection: profiles(logger)),
            ReadModel(
                name: "ledger", consumer: "loan-contribution-history", topics: [.contributionEvents],
                tables: ["ledger_accounts", "contribution_months"], projection: ledger(logger)),
            ReadModel(
                name: "recognised-months", consumer: "loan-recognised-months", topics: [.regionalEvents], tables: ["recognised_months"],
                projection: recognised(logger)),
        ]
    }

    /// The live consumers: each read model's projection, and beyond it the fund pool's release
    /// (whatever raises a balance may bring the pool back above its floor) and the answers to
    /// repayments from the HPF balance.
    static func subscriptions(runtime: ServiceRuntime) -> [EventSubscription] {
        let logger = runtime.logger
        let raisesBalance: Set<EventType> = [.contributionReceived, .subsidyCredited, .interestSettled, .debitReversed, .transferInPosted]
        let ledgerHandlers =
            ledger(logger).map { handler -> EventHandler in
                if raisesBalance.contains(handler.type) {
                    // Once per inbox transaction, after its last event (a poll's events share one).
                    return handler.then { db in try await db.onceBeforeCommit("fund-pool:release") { try await FundPool.release(in: $0) } }
                }
                if handler.type == .debitPosted {
                    return handler.then(DebitPosted.self) { event, db in
                        if event.data.kind == .loanRepayment { try await BalanceRepayments.debited(event.data, in: db) }
                    }
                }
                return handler
            } + [
                .on(.debitRefused, DebitRefused.self) { event, db in
                    try await BalanceRepayments.refused(event.data, in: db)
                }
            ]
        return [
            EventSubscription(consumerName: "loan-participants", topics: [.enrolmentEvents], handlers: profiles(logger)),
            EventSubscription(consumerName: "loan-contribution-history", topics: [.contributionEvents], handlers: ledgerHandlers),
            EventSubscription(consumerName: "loan-recognised-months", topics: [.regionalEvents], handlers: recognised(logger)),
        ]
    }

    /// The applicant's profile and credit records, from enrolment.
    static func profiles(_ logger: Logger) -> [EventHandler] {
        [
            .on(.accountOpened, AccountOpened.self) { event, db in
                let a = event.data
                try await db.query(
                    """
                    INSERT INTO participants (account_number, person_ref, retirement_month, bachelor_or_above, graduation_date)
                    VALUES (\(a.accountNumber), \(a.personRef), \(a.retirementMonth), \(a.education.level.isBachelorOrAbove),
                            \(a.education.graduationDate))
                    ON CONFLICT (account_number) DO NOTHING
                    """)
            },
            .on(.creditRecordAdded, CreditRecordAdded.self) { event, db in
                let r = event.data
                try await db.query(
                    """
                    INSERT INTO credit_records (source, reference, person_ref, active_from, active_until)
                    VALUES (\(r.source), \(r.reference), \(r.personRef), \(r.activeFrom), \(r.activeUntil))
                    ON CONFLICT DO NOTHING
                    """)
            },
        ]
    }

    /// Contribution months, amounts and the balance, from the ledger (each ledger event carries
    /// the balance after it, in per-account order). `last_event_at` is the event's own time, so a
    /// rebuild gives the same rows as the live consumer did.
    static func ledger(_ logger: Logger) -> [EventHandler] {
        [
            // A poll's contributions in one statement (#15): each account once, with the run's
            // amounts added up and its last balance and time.
            .on(
                .contributionReceived, ContributionReceived.self,
                together: { events, db in
                    var accounts = PerAccount<(contributed: Fen, balance: Fen, at: Date)>()
                    var monthAccounts: [String] = []
                    var months: [YearMonth] = []
                    for event in events.map(\.event) {
                        let c = event.data
                        try accounts.fold(c.accountNumber, (c.amountFen, c.balanceAfterFen, try eventTime(event.time))) { sofar, later in
                            sofar = (try Checked.add(sofar.contributed, later.contributed), later.balance, later.at)
                        }
                        monthAccounts += Array(repeating: c.accountNumber, count: c.monthsCounted.count)
                        months += c.monthsCounted
                    }
                    let rows = accounts.accounts
                    try await db.query(
                        """
                        WITH months AS (
                            INSERT INTO contribution_months (account_number, month)
                            SELECT * FROM unnest(\(monthAccounts)::text[], \(months)::text[]) ON CONFLICT DO NOTHING)
                        INSERT INTO ledger_accounts AS l (account_number, contributed_fen, balance_fen, last_event_at)
                        SELECT * FROM unnest(\(rows.map(\.account))::text[], \(rows.map(\.value.contributed))::bigint[],
                                             \(rows.map(\.value.balance))::bigint[], \(rows.map(\.value.at))::timestamptz[])
                        ON CONFLICT (account_number) DO UPDATE
                        SET contributed_fen = l.contributed_fen + excluded.contributed_fen, balance_fen = excluded.balance_fen, last_event_at = excluded.last_event_at
                        """)
                }),
            .on(.subsidyCredited, SubsidyCredited.self) { event, db in
                try await balance(event.data.balanceAfterFen, event.data.accountNumber, at: try eventTime(event.time), db)
            },
            .on(.interestSettled, InterestSettled.self) { event, db in
                try await balance(event.data.balanceAfterFen, event.data.accountNumber, at: try eventTime(event.time), db)
            },
            .on(.debitPosted, DebitPosted.self) { event, db in
                try await balance(event.data.balanceAfterFen, event.data.accountNumber, at: try eventTime(event.time), db)
            },
            .on(.debitReversed, DebitReversed.self) { event, db in
                try await balance(event.data.balanceAfterFen, event.data.accountNumber, at: try eventTime(event.time), db)
            },
            .on(.transferInPosted, TransferInPosted.self) { event, db in
                try await balance(event.data.balanceAfterFen, event.data.accountNumber, at: try eventTime(event.time), db)
            },
            .on(.accountClosed, AccountClosed.self) { event, db in
                try await db.query(
                    """
                    INSERT INTO ledger_accounts (account_number, closed, balance_fen, last_event_at) VALUES (\(event.data.accountNumber), true, 0, \(try eventTime(event.time)))
                    ON CONFLICT (account_number) DO UPDATE SET closed = true, balance_fen = 0, last_event_at = excluded.last_event_at
                    """)
            },
        ]
    }

    /// §17 record recognition: a partner city's months count for the 6-month rule (§5), once.
    static func recognised(_ logger: Logger) -> [EventHandler] {
        [
            .on(.monthsRecognised, MonthsRecognised.self) { event, db in
                try await db.query(
                    """
                    INSERT INTO recognised_months (account_number, month)
                    SELECT \(event.data.accountNumber), unnest(\(event.data.months)::text[]) ON CONFLICT DO NOTHING
                    """)
            }
        ]
    }

    static func balance(_ balance: Fen, _ account: String, at time: Date, _ db: DatabaseContext) async throws {
        try await db.query(
            """
            INSERT INTO ledger_accounts (account_number, balance_fen, last_event_at) VALUES (\(account), \(balance), \(time))
            ON CONFLICT (account_number) DO UPDATE SET balance_fen = excluded.balance_fen, last_event_at = excluded.last_event_at
            """)
    }

    /// An event's own time; one that does not read is a bad event, not a database fault.
    static func eventTime(_ text: String) throws -> Date {
        guard let time = Instant.parse(text) else { throw EventRejection(reason: .invalidPayload, detail: "time is not an RFC 3339 instant") }
        return time
    }

    /// One account's facts as of `date`.
    struct Applicant: Sendable {
        let account: String
        let personRef: String
        let status: String
        let retirementMonth: YearMonth
        let bachelorOrAbove: Bool
        let graduationDate: BusinessDate?
        let contributedFen: Fen
        let balanceFen: Fen
        /// Own months plus recognised partner-city months, without double counting.
        let contributionMonths: Int
        /// Months of the §5 frequency window with a contribution.
        let monthsPaidOfLast12: Int
        let ownMonths: Int
        let lastEventAt: Date?
        /// A loan not yet settled, as borrower or as spouse.
        let outstandingLoan: Bool
        /// An active bad-credit record on the day asked (§13).
        let badCredit: Bool

        var averageMonthlyFen: Fen { ownMonths == 0 ? 0 : contributedFen / Fen(ownMonths) }
    }

    /// One applicant's facts in one round trip, prepared once per connection: every loan decision
    /// and quota asks it. The outstanding-loan and bad-credit checks are per person, so a
    /// household's are the applicant's and the spouse's taken together.
    struct ApplicantQuery: PostgresPreparedStatement {
        static let sql = """
            SELECT p.person_ref, CASE WHEN coalesce(l.closed, false) THEN 'closed' ELSE 'active' END, p.retirement_month, p.bachelor_or_above,
                p.graduation_date, coalesce(l.contributed_fen, 0), coalesce(l.balance_fen, 0),
                (SELECT count(*) FROM (SELECT month FROM contribution_months WHERE account_number = p.account_number
                                       UNION SELECT month FROM recognised_months WHERE account_number = p.account_number) m)::int,
                (SELECT count(*) FROM contribution_months WHERE account_number = p.account_number AND month BETWEEN $2 AND $3)::int,
                (SELECT count(*) FROM contribution_months WHERE account_number = p.account_number)::int,
                l.last_event_at,
                EXISTS (SELECT 1 FROM loans WHERE status <> 'settled' AND person_ref = p.person_ref)
                    OR EXISTS (SELECT 1 FROM loans WHERE status <> 'settled' AND spouse_person_ref = p.person_ref),
                -- §13: the registry's records (ours, source loan, are in bad_credit_records, which know when they expire).
                EXISTS (SELECT 1 FROM bad_credit_records b WHERE b.person_ref = p.person_ref AND (b.active_until IS NULL OR b.active_until >= $4))
                    OR EXISTS (SELECT 1 FROM credit_records c WHERE c.person_ref = p.person_ref AND c.source <> 'loan' AND c.active_from <= $4
                               AND (c.active_until IS NULL OR c.active_until >= $4))
            FROM participants p LEFT JOIN ledger_accounts l USING (account_number) WHERE p.account_number = $1
            """
        typealias Row = (String, String, YearMonth, Bool, BusinessDate?, Int64, Int64, Int, Int, Int, Date?, Bool, Bool)

        let account: String
        let from: YearMonth
        let to: YearMonth
        let date: BusinessDate

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(account)
            bindings.append(from)
            bindings.append(to)
            bindings.append(date)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    static func applicant(
        _ account: String, on date: BusinessDate, parameters: PolicyParameters, in db: DatabaseContext
    ) async throws -> Applicant? {
        let from = date.yearMonth.adding(months: 1 - parameters.linkage.value(on: date).frequencyWindowMonths)
        let query = ApplicantQuery(account: account, from: from, to: date.yearMonth, date: date)
        for try await r in try await db.execute(query) {
            return Applicant(
                account: account, personRef: r.0, status: r.1, retirementMonth: r.2,
                bachelorOrAbove: r.3, graduationDate: r.4, contributedFen: r.5, balanceFen: r.6,
                contributionMonths: r.7, monthsPaidOfLast12: r.8, ownMonths: r.9, lastEventAt: r.10,
                outstandingLoan: r.11, badCredit: r.12)
        }
        return nil
    }
}
