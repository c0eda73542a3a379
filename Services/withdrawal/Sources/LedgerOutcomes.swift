import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The ledger's answers to the saga, from its events only: a posted debit sends the payout to
/// the payment channel; a refused or reversed debit ends the withdrawal `rejected` with the
/// ledger's code. Every ledger event also carries the balance after it, which resumes rent
/// plans paused for want of money (§8).
enum LedgerOutcomes {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        return EventSubscription(
            consumerName: "ledger-outcomes", topics: [.contributionEvents],
            handlers: [
                .on(.debitPosted, DebitPosted.self) { event, db in
                    let debit = event.data
                    try await RentPlans.balanceSeen(debit.balanceAfterFen, account: debit.accountNumber, in: db)
                    guard debit.kind == .withdrawal, let id = UUID(uuidString: debit.debitId) else { return }
                    guard
                        let record = try await Withdrawals.advance(
                            id, from: .requested, to: .paying, amountFen: debit.amountFen, payoutId: UUID(),
                            in: db),
                        let payoutId = record.payoutId
                    else { return }
                    try await db.query(
                        """
                        UPDATE withdrawals SET payout_requested_on = \(runtime.clock.today) WHERE withdrawal_id = \(id)
                        """)
                    let payout = PayoutRequested(
                        payoutId: payoutId.uuidString.lowercased(), withdrawalId: debit.debitId,
                        accountNumber: debit.accountNumber, amountFen: debit.amountFen, payee: try record.payee(runtime.personalData))
                    // The channel gets the payee in full on its own topic; analytics see it masked.
                    try await db.emit(.payoutInstruction, payout, account: debit.accountNumber)
                    var summary = payout
                    summary.payee = payout.payee.masked
                    try await db.emit(.payoutRequested, summary, account: debit.accountNumber)
                },
                .on(.debitRefused, DebitRefused.self) { event, db in
                    let refused = event.data
                    if let balance = refused.balanceFen {
                        try await RentPlans.balanceSeen(balance, account: refused.accountNumber, in: db)
                    }
                    guard let id = UUID(uuidString: refused.debitId),
                        let record = try await Withdrawals.advance(
                            id, from: .requested, to: .rejected, code: refused.code, detail: refused.detail,
                            in: db)
                    else { return }
                    try await Withdrawals.reject(record, in: db)
                },
                .on(.debitReversed, DebitReversed.self) { event, db in
                    let reversed = event.data
                    guard let id = UUID(uuidString: reversed.debitId),
                        let record = try await Withdrawals.advance(
                            id, from: .reversing, to: .rejected, code: reversed.code,
                            detail: "the payout failed and the ledger reversed the debit",
                            in: db)
                    else {
                        return try await RentPlans.balanceSeen(reversed.balanceAfterFen, account: reversed.accountNumber, in: db)
                    }
                    try await Withdrawals.reject(record, in: db)
                    try await RentPlans.balanceSeen(reversed.balanceAfterFen, account: reversed.accountNumber, in: db)
                },
                // A poll's contributions in one statement (#15), each account with its last balance.
                .on(
                    .contributionReceived, ContributionReceived.self,
                    together: { events, db in
                        var balances = PerAccount<Fen>()
                        var lastEvent: [String: RunMember<CloudEvent<ContributionReceived>>] = [:]
                        for member in events {
                            balances.keepLast(member.event.data.accountNumber, member.event.data.balanceAfterFen)
                            lastEvent[member.event.data.accountNumber] = member
                        }
                        // A resumed plan's month is requested under the trace of its account's last
                        // contribution in the run (the balance that resumed it; every resumed plan's
                        // account is in the run).
                        for resumed in try await RentPlans.balancesSeen(balances, in: db) {
                            let member = lastEvent[resumed.account] ?? events[events.count - 1]
                            _ = try await member.alone { db in try await RentPlans.issueDue(asOf: db.today, plan: resumed.plan, in: db) }
                        }
                    }),
                .on(.transferInPosted, TransferInPosted.self) { event, db in
                    try await RentPlans.balanceSeen(event.data.balanceAfterFen, account: event.data.accountNumber, in: db)
                },
                .on(.subsidyCredited, SubsidyCredited.self) { event, db in
                    try await RentPlans.balanceSeen(event.data.balanceAfterFen, account: event.data.accountNumber, in: db)
                },
                .on(.interestSettled, InterestSettled.self) { event, db in
                    try await RentPlans.balanceSeen(event.data.balanceAfterFen, account: event.data.accountNumber, in: db)
                },
                .on(.accountClosed, AccountClosed.self) { event, db in
                    try await db.query(
                        "UPDATE accounts SET status = 'closed', balance_fen = 0 WHERE account_number = \(event.data.accountNumber)")
                    try await RentPlans.accountClosed(event.data.accountNumber, in: db)
                },
            ])
    }
}
