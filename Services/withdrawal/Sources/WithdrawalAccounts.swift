import Contracts
import Policy
import PostgresNIO
import ServiceRuntime

/// What this service knows of each account, from the enrolment events: who holds it, where
/// they live (§16 self-build is for rural residents) and when they retire (closure).
enum WithdrawalAccounts {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        return EventSubscription(
            consumerName: "withdrawal-accounts", topics: [.enrolmentEvents],
            handlers: [
                .on(.accountOpened, AccountOpened.self) { event, db in
                    let a = event.data
                    try await db.query(
                        """
                        INSERT INTO accounts (account_number, person_ref, residence, retirement_month, payout_account_ref)
                        VALUES (\(a.accountNumber), \(a.personRef), \(a.residence.rawValue), \(a.retirementMonth), \(a.payoutAccountRef))
                        ON CONFLICT (account_number) DO NOTHING
                        """)
                },
                .on(.agreementChanged, AgreementChanged.self) { event, db in
                    guard let ref = event.data.payoutAccountRef else { return }
                    try await db.query(
                        """
                        UPDATE accounts SET payout_account_ref = \(ref) WHERE account_number = \(event.data.accountNumber)
                        """)
                },
            ])
    }

    struct Account: Sendable {
        let status: String
        let rural: Bool
        let retirementMonth: YearMonth
        /// The keyed hash of the holder's registered payout bank account, if any.
        let payoutAccountRef: String?
    }

    /// `shared`: the row is locked against a change of status until the caller's transaction ends,
    /// for a write that stays open after it (a rent plan): a closure applied meanwhile waits, and
    /// then cancels the plan with the account's others, instead of missing it.
    static func load(_ number: String, shared: Bool = false, in db: DatabaseContext) async throws -> Account? {
        let rows = try await db.query(
            "SELECT status, residence, retirement_month, payout_account_ref FROM accounts WHERE account_number = \(number) \(unescaped: shared ? "FOR SHARE" : "")"
        )
        for try await (status, residence, retirement, payout) in rows.decode((String, String, YearMonth, String?).self) {
            return Account(status: status, rural: residence == Residence.rural.rawValue, retirementMonth: retirement, payoutAccountRef: payout)
        }
        return nil
    }
}
