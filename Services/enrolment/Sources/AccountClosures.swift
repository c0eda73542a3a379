import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The end of an account's life (§4 closure, §17 transfer out): the ledger owns the balance and
/// decides when an account closes (`account-closed`); enrolment follows, so the account shows
/// closed, leaves the statistics (they count active accounts), refuses agreement changes
/// (`account_not_active`), and the person, no longer holding an active account, may enrol again
/// under a new account number. The lifetime subsidy cap counts per person, not per account, so a
/// new account does not renew it.
enum AccountClosures {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        EventSubscription(
            consumerName: "account-closures", topics: [.contributionEvents],
            handlers: [
                .on(.accountClosed, AccountClosed.self) { event, db in
                    let closed = event.data
                    // Guarded: a repeated or late event changes nothing, and an account we never opened is refused.
                    var known = false
                    for try await _ in try await db.query(
                        "SELECT 1 FROM accounts WHERE account_number = \(closed.accountNumber)")
                    { known = true }
                    guard known else { throw EventRejection(detail: "account \(closed.accountNumber) was not opened here") }
                    try await db.query(
                        """
                        UPDATE accounts SET status = 'closed', closed_on = \(closed.closedOn), closure_reason = \(closed.closureReason.rawValue)
                        WHERE account_number = \(closed.accountNumber) AND status = 'active'
                        """)
                }
            ])
    }
}
