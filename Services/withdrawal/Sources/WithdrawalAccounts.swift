import Contracts
import Policy
import PostgresNIO
import ServiceRuntime

/// What this service knows of each account, from the enrolment events: who holds it, where
/// they live (§16 self-build is for rural residents) and when they retire (closure).
enum WithdrawalAccounts {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        let logger = runtime.logger
        return EventSubscription(
            consumerName: "withdrawal-accounts", topics: [.enrolmentEvents],
            handlers: [
                .on(.accountOpened, AccountOpened.self) { event, connection in
                    let a = event.data
                    try await connection.query(
                        """
                        INSERT INTO accounts (account_number, person_ref, residence, retirement_month, payout_account_ref)
                        VALUES (\(a.accountNumber), \(a.personRef), \(a.residence.rawValue), \(a.retirementMonth), \(a.payoutAccountRef))
                        ON CONFLICT (account_number) DO NOTHING
                        """, logger: logger)
                },
                .on(.agreementChanged, AgreementChanged.self) { event, connection in
                    guard let ref = event.data.payoutAccountRef else { return }
                    try await connection.query(
                        """
                        UPDATE accounts SET payout_account_ref = \(ref) WHERE account_number = \(event.data.accountNumber)
                        """, logger: logger)
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

    static func load(_ number: String, connection: PostgresConnection, logger: Logger) async throws -> Account? {
        let rows = try await connection.query(
            "SELECT status, residence, retirement_month, payout_account_ref FROM accounts WHERE account_number = \(number)", logger: logger)
        for try await (status, residence, retirement, payout) in rows.decode((String, String, YearMonth, String?).self) {
            return Account(status: status, rural: residence == Residence.rural.rawValue, retirementMonth: retirement, payoutAccountRef: payout)
        }
        return nil
    }
}
