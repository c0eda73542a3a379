import Contracts
import Foundation
import PostgresNIO
import ServiceRuntime

/// Credits granted HPF subsidies (§3) to the ledger: each `subsidy-granted` event becomes one
/// `subsidy` posting, exactly once (the inbox), with no HTTP call between the services.
enum SubsidyCredits {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        return EventSubscription(
            consumerName: "subsidy-credits", topics: [.subsidyEvents],
            handlers: [
                .on(.subsidyGranted, SubsidyGranted.self) { event, db in
                    let grant = event.data
                    guard grant.amountFen > 0 else { throw EventRejection(detail: "a subsidy grant must be positive") }
                    // A closing or closed account takes no more money: the grant is kept on the
                    // dead-letter topic for staff rather than left behind in a closed account.
                    if let account = try await Ledger.lockAccount(grant.accountNumber, in: db),
                        account.status != "active"
                    {
                        throw EventRejection(detail: "subsidy \(grant.grantId) for account \(grant.accountNumber), which is \(account.status)")
                    }
                    let posted: Ledger.Posted
                    do {
                        posted = try await Ledger.post(
                            account: grant.accountNumber, kind: .subsidy, amount: grant.amountFen,
                            reference: "subsidy:\(grant.grantId)", at: runtime.clock.now, businessDate: grant.grantedOn,
                            in: db)
                    } catch Ledger.PostingError.insufficientBalance, Ledger.PostingError.unknownAccount {
                        // A credit cannot fail the balance guard: the account is missing.
                        throw EventRejection(detail: "subsidy for unknown account \(grant.accountNumber)")
                    }
                    let credited = SubsidyCredited(
                        accountNumber: grant.accountNumber, grantId: grant.grantId, amountFen: grant.amountFen,
                        balanceAfterFen: posted.balanceAfter, sequence: posted.seq)
                    try await db.emit(.subsidyCredited, credited, account: grant.accountNumber)
                }
            ])
    }
}
