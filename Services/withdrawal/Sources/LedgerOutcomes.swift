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
        let logger = runtime.logger
        return EventSubscription(
            consumerName: "ledger-outcomes", topics: [.contributionEvents],
            handlers: [
                .on(.debitPosted, DebitPosted.self) { event, connection in
                    let debit = event.data
                    try await balanceSeen(debit.balanceAfterFen, account: debit.accountNumber, runtime: runtime, connection: connection)
                    guard debit.kind == .withdrawal, let id = UUID(uuidString: debit.debitId) else { return }
                    guard
                        let record = try await Withdrawals.advance(
                            id, from: .requested, to: .paying, amountFen: debit.amountFen, payoutId: UUID(),
                            connection: connection, logger: logger),
                        let payoutId = record.payoutId
                    else { return }
                    try await connection.query(
                        """
                        UPDATE withdrawals SET payout_requested_on = \(runtime.clock.today) WHERE withdrawal_id = \(id)
                        """, logger: logger)
                    let payout = PayoutRequested(
                        payoutId: payoutId.uuidString.lowercased(), withdrawalId: debit.debitId,
                        accountNumber: debit.accountNumber, amountFen: debit.amountFen, payee: try record.payee(runtime.personalData))
                    // The channel gets the payee in full on its own topic; analytics see it masked.
                    try await runtime.emit(.payoutInstruction, payout, account: debit.accountNumber, on: connection)
                    var summary = payout
                    summary.payee = payout.payee.masked
                    try await runtime.emit(.payoutRequested, summary, account: debit.accountNumber, on: connection)
                },
                .on(.debitRefused, DebitRefused.self) { event, connection in
                    let refused = event.data
                    if let balance = refused.balanceFen {
                        try await balanceSeen(balance, account: refused.accountNumber, runtime: runtime, connection: connection)
                    }
                    guard let id = UUID(uuidString: refused.debitId),
                        let record = try await Withdrawals.advance(
                            id, from: .requested, to: .rejected, code: refused.code, detail: refused.detail,
                            connection: connection, logger: logger)
                    else { return }
                    try await Withdrawals.reject(record, runtime: runtime, connection: connection)
                },
                .on(.debitReversed, DebitReversed.self) { event, connection in
                    let reversed = event.data
                    guard let id = UUID(uuidString: reversed.debitId),
                        let record = try await Withdrawals.advance(
                            id, from: .reversing, to: .rejected, code: reversed.code,
                            detail: "the payout failed and the ledger reversed the debit",
                            connection: connection, logger: logger)
                    else {
                        return try await balanceSeen(reversed.balanceAfterFen, account: reversed.accountNumber, runtime: runtime, connection: connection)
                    }
                    try await Withdrawals.reject(record, runtime: runtime, connection: connection)
                    try await balanceSeen(reversed.balanceAfterFen, account: reversed.accountNumber, runtime: runtime, connection: connection)
                },
                .on(.contributionReceived, ContributionReceived.self) { event, connection in
                    try await balanceSeen(event.data.balanceAfterFen, account: event.data.accountNumber, runtime: runtime, connection: connection)
                },
                .on(.transferInPosted, TransferInPosted.self) { event, connection in
                    try await balanceSeen(event.data.balanceAfterFen, account: event.data.accountNumber, runtime: runtime, connection: connection)
                },
                .on(.subsidyCredited, SubsidyCredited.self) { event, connection in
                    try await balanceSeen(event.data.balanceAfterFen, account: event.data.accountNumber, runtime: runtime, connection: connection)
                },
                .on(.interestSettled, InterestSettled.self) { event, connection in
                    try await balanceSeen(event.data.balanceAfterFen, account: event.data.accountNumber, runtime: runtime, connection: connection)
                },
                .on(.accountClosed, AccountClosed.self) { event, connection in
                    try await connection.query(
                        "UPDATE accounts SET status = 'closed', balance_fen = 0 WHERE account_number = \(event.data.accountNumber)",
                        logger: logger)
                    try await RentPlans.accountClosed(event.data.accountNumber, connection: connection, logger: logger)
                },
            ])
    }

    /// Ledger events of one account arrive in the ledger's order (one partition per account),
    /// so the latest one seen holds the current balance.
    static func balanceSeen(_ balance: Fen, account: String, runtime: ServiceRuntime, connection: PostgresConnection) async throws {
        try await connection.query("UPDATE accounts SET balance_fen = \(balance) WHERE account_number = \(account)", logger: runtime.logger)
        try await RentPlans.resumeIfCovered(account: account, balance: balance, runtime: runtime, connection: connection)
    }
}
