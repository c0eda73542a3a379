import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The ledger's part of a transfer in (§17): the regional-sync service checked the partner's
/// transfer-out data; the ledger credits the amount as one `transfer_in` posting and keeps the
/// principal as a subsidy lot (interest is not a lot, §3 decisions). Decided once per transfer
/// id under the account's row lock, like the debits.
enum TransferCredits {
    static func credit(_ transfer: TransferInAccepted, in db: DatabaseContext) async throws {
        guard let id = UUID(uuidString: transfer.transferId) else { throw EventRejection(detail: "transferId \(transfer.transferId) is not a UUID") }
        guard transfer.amountFen > 0, transfer.principalFen >= 0, transfer.interestFen >= 0,
            transfer.principalFen + transfer.interestFen == transfer.amountFen
        else {
            throw EventRejection(detail: "a transfer in must be a positive amount equal to principal + interest")
        }
        let account = try await Ledger.lockAccount(transfer.accountNumber, in: db)
        let seen = try await db.query("SELECT 1 FROM transfer_credits WHERE transfer_id = \(id)")
        for try await _ in seen { return }
        let today = db.today

        func refuse(_ code: String, _ detail: String) async throws {
            try await db.query(
                """
                INSERT INTO transfer_credits (transfer_id, account_number, amount_fen, principal_fen, interest_fen, status, code, decided_on)
                VALUES (\(id), \(transfer.accountNumber), \(transfer.amountFen), \(transfer.principalFen), \(transfer.interestFen),
                        'refused', \(code), \(today))
                """)
            let refused = TransferInRefused(transferId: transfer.transferId, accountNumber: transfer.accountNumber, code: code, detail: detail)
            try await db.emit(.transferInRefused, refused, account: transfer.accountNumber)
        }
        guard let account else { return try await refuse("unknown_account", "the ledger has no account \(transfer.accountNumber)") }
        guard account.status == "active" else { return try await refuse("account_not_active", "the account is \(account.status)") }

        let now = db.runtime.clock.now
        let posted = try await Ledger.post(
            account: transfer.accountNumber, kind: .transferIn, amount: transfer.amountFen,
            reference: "transfer_in:\(transfer.letterNumber)", at: now, businessDate: today,
            in: db)
        let lot = UUID()
        if transfer.principalFen > 0 {
            try await db.query(
                """
                INSERT INTO contributions (contribution_id, account_number, origin, amount_fen, paid_at, paid_on, fingerprint, posting_seq,
                    balance_after_fen, unconsumed_fen)
                VALUES (\(lot), \(transfer.accountNumber), 'transfer_in', \(transfer.principalFen), \(now), \(today),
                    \("transfer:" + transfer.letterNumber), \(posted.seq), \(posted.balanceAfter), \(transfer.principalFen))
                """)
        }
        try await db.query(
            """
            INSERT INTO transfer_credits (transfer_id, account_number, amount_fen, principal_fen, interest_fen, status, posting_seq, lot_id, decided_on)
            VALUES (\(id), \(transfer.accountNumber), \(transfer.amountFen), \(transfer.principalFen), \(transfer.interestFen),
                    'posted', \(posted.seq), \(transfer.principalFen > 0 ? lot : nil), \(today))
            """)
        let event = TransferInPosted(
            transferId: transfer.transferId, accountNumber: transfer.accountNumber, amountFen: transfer.amountFen,
            principalFen: transfer.principalFen, interestFen: transfer.interestFen, lotId: lot.uuidString.lowercased(),
            postedOn: today, balanceAfterFen: posted.balanceAfter, sequence: posted.seq)
        try await db.emit(.transferInPosted, event, account: transfer.accountNumber)
    }
}
