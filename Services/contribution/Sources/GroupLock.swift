import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// A deposit group's account locks in one statement instead of one per deposit (#15): every
/// account of the group locked in account order (the order each deposit alone would have locked
/// it in, and every group's order), each read with the contribution already recorded under its
/// first deposit's channel transaction id, if any: what `LockedAccount.ByChannel` reads for one.
///
/// Only a deposit that is the first of its account and of its channel transaction in the group
/// takes its row from here: a later one must see what the group's earlier deposits wrote (the
/// balance, the sequence, the count, a contribution under the same transaction id), so it reads
/// again under the lock the group already holds, as it always did. Every account is locked here
/// all the same, so the group never takes an account's lock after a higher account's.
extension LockedAccount {
    struct GroupByChannel: PostgresPreparedStatement {
        static let sql = """
            SELECT r.n, \(columns)
            FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r(account, channel, txn, n)
            JOIN accounts a ON a.account_number = r.account
            LEFT JOIN contributions c ON c.channel = r.channel AND c.channel_txn_id = r.txn
            ORDER BY a.account_number, r.n
            FOR UPDATE OF a
            """
        typealias Row = (
            Int64, String, String, String, Int64, BusinessDate, UUID?, String?, Int64?, Int64, Int64, BusinessDate, BusinessDate, Int64?
        )

        let accounts: [String]
        let channels: [String]
        let transactions: [String]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(accounts)
            bindings.append(channels)
            bindings.append(transactions)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// Locks the accounts of `deposits` (a group's, in the order it records them) in one
    /// statement. Returns, for each deposit, its locked account if it is the first of its
    /// account and of its channel transaction in the group and the account exists; nil for the
    /// others, which read again alone (`lock`) under the lock taken here.
    static func lockGroup(_ deposits: [ChannelDeposit], in db: DatabaseContext) async throws -> [LockedAccount?] {
        var accountsSeen: Set<String> = []
        var transactionsSeen: Set<String> = []
        // Each account's first deposit (every account is locked), and which of them may use the
        // row they read (their transaction id new to the group too).
        var firsts: [Int] = []
        var usable: Set<Int> = []
        for (index, deposit) in deposits.enumerated() {
            let newAccount = accountsSeen.insert(deposit.accountNumber).inserted
            let newTransaction = transactionsSeen.insert(deposit.channel.rawValue + ":" + deposit.channelTxnId).inserted
            guard newAccount else { continue }
            firsts.append(index)
            if newTransaction { usable.insert(index) }
        }
        var locked = [LockedAccount?](repeating: nil, count: deposits.count)
        guard !firsts.isEmpty else { return locked }
        let statement = GroupByChannel(
            accounts: firsts.map { deposits[$0].accountNumber }, channels: firsts.map { deposits[$0].channel.rawValue },
            transactions: firsts.map { deposits[$0].channelTxnId })
        for try await row in try await db.execute(statement) {
            // `n` numbers the arrays from 1; an account that does not exist has no row.
            guard row.0 >= 1, row.0 <= Int64(firsts.count) else { continue }
            let index = firsts[Int(row.0) - 1]
            guard usable.contains(index) else { continue }
            locked[index] = try LockedAccount(
                deposits[index].accountNumber, (row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10, row.11, row.12, row.13))
        }
        return locked
    }
}
