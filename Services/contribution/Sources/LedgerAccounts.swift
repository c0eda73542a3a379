import Contracts
import PostgresNIO
import ServiceRuntime

/// Opens a ledger account from `account-opened` and follows agreement changes; the enrolment
/// events are the only source of accounts here (no HTTP call between services).
enum LedgerAccounts {
    /// §17 record recognition: the months a partner city's record brought, for the balance view
    /// (own months and recognised months apart, and the total the loan rule counts).
    static func recognisedMonths(runtime: ServiceRuntime) -> EventSubscription {
        EventSubscription(
            consumerName: "ledger-recognised-months", topics: [.regionalEvents],
            handlers: [
                .on(.monthsRecognised, MonthsRecognised.self) { event, db in
                    try await db.query(
                        """
                        INSERT INTO recognised_months (account_number, month)
                        SELECT \(event.data.accountNumber), unnest(\(event.data.months)::text[]) ON CONFLICT DO NOTHING
                        """)
                }
            ])
    }

    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        return EventSubscription(
            consumerName: "ledger-accounts", topics: [.enrolmentEvents],
            handlers: [
                .on(.accountOpened, AccountOpened.self) { event, db in
                    let a = event.data
                    try await db.query(
                        """
                        INSERT INTO accounts (account_number, person_ref, county, schedule, status, opened_on,
                                              interest_period_from, balance_since, interest_accrued)
                        VALUES (\(a.accountNumber), \(a.personRef), \(a.county), \(a.agreement.schedule.rawValue), 'active',
                                \(a.openedOn), \(a.openedOn), \(a.openedOn), 0)
                        ON CONFLICT (account_number) DO NOTHING
                        """)
                },
                .on(.agreementChanged, AgreementChanged.self) { event, db in
                    let rows = try await db.query(
                        """
                        UPDATE accounts SET schedule = \(event.data.agreement.schedule.rawValue)
                        WHERE account_number = \(event.data.accountNumber) RETURNING 1
                        """)
                    var found = false
                    for try await _ in rows { found = true }
                    if !found { throw EventRejection(detail: "agreement change for unknown account \(event.data.accountNumber)") }
                },
            ])
    }
}
