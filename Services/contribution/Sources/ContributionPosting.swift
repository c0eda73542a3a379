import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// Records one contribution in the caller's transaction: the contribution row, its ledger
/// posting, the months it counts and the `contribution-received` event.
public enum ContributionPosting {
    struct Input: Sendable {
        var accountNumber: String
        var amountFen: Fen
        var channel: PaymentChannel?
        var channelTxnId: String?
        var legacyId: String?
        var origin: ContributionOrigin
        var paidAt: Date
        var schedule: ContributionSchedule
        var fingerprint: String
    }

    public struct Recorded: Sendable, Codable {
        public var contributionId: String
        public var balanceFen: Fen
    }

    /// The posting (`Ledger.postingSQL`, $1-$12), the contribution row, the months it counts and
    /// its `contribution-received` event in one statement: every deposit runs it, prepared once
    /// per connection. The event carries the posting's sequence and balance, planned under the
    /// account's lock before the statement runs; its answer is checked against them.
    struct Insert: PostgresPreparedStatement {
        static let sql = """
            WITH \(Ledger.postingSQL(kind: .contribution)),
            months AS (
                INSERT INTO contribution_months (account_number, month)
                SELECT $1, unnest($19::text[]) ON CONFLICT DO NOTHING),
            contribution AS (
                INSERT INTO contributions (contribution_id, account_number, origin, channel, channel_txn_id, legacy_id, amount_fen,
                    paid_at, paid_on, fingerprint, posting_seq, balance_after_fen, unconsumed_fen)
                SELECT $13, $1, $14, $15, $16, $17, $2, $7, $8::date, $18, seq, balance_after_fen, $2 FROM posting),
            event AS (\(Outbox.insertSQL(from: 20)))
            SELECT seq, balance_after_fen FROM posting
            """
        typealias Row = (Int64, Int64)

        let id: UUID
        let input: Input
        let months: [YearMonth]
        let paidOn: BusinessDate
        let reference: String
        let planned: Ledger.Planned
        let event: Outbox.Row

        func makeBindings() throws -> PostgresBindings {
            var bindings = try Ledger.bindings(
                account: input.accountNumber, kind: .contribution, amount: input.amountFen, reference: reference, at: input.paidAt,
                businessDate: paidOn, accrual: planned.accrual, capacity: 26)
            bindings.append(id)
            bindings.append(input.origin.rawValue)
            bindings.append(input.channel?.rawValue)
            bindings.append(input.channelTxnId)
            bindings.append(input.legacyId)
            bindings.append(input.fingerprint)
            bindings.append(months)
            event.appendBindings(to: &bindings)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// A contribution planned under its account's lock and not yet written: its statement (with
    /// its event) and the posting it will make.
    struct Prepared: Sendable {
        let insert: Insert
        var posted: Ledger.Posted { insert.planned.posted }
        var recorded: Recorded { Recorded(contributionId: insert.id.uuidString.lowercased(), balanceFen: posted.balanceAfter) }
    }

    static func record(_ input: Input, contributionCountBefore: Int64, interest: LedgerInterest.State?, in db: DatabaseContext) async throws -> Recorded {
        try await write(try await prepare(input, contributionCountBefore: contributionCountBefore, interest: interest, in: db), in: db)
    }

    /// Everything up to the write: the posting planned (any interest year due settled first, on
    /// this account only), the months counted, the event built under the caller's trace.
    static func prepare(_ input: Input, contributionCountBefore: Int64, interest: LedgerInterest.State?, in db: DatabaseContext) async throws
        -> Prepared
    {
        let paidOn = BusinessDate.of(input.paidAt)
        let id = UUID()
        let reference = input.channelTxnId.map { "\(input.channel?.rawValue ?? "channel"):\($0)" } ?? "legacy:\(input.legacyId ?? "")"
        let planned = try await Ledger.plan(
            account: input.accountNumber, kind: .contribution, amount: input.amountFen, at: input.paidAt, businessDate: paidOn,
            locked: interest, in: db)
        let posted = planned.posted
        // Legacy history counts its own month only; a quarterly payment covers three.
        let months =
            input.origin == .legacyImport
            ? [paidOn.yearMonth]
            : ContributionRules.coveredMonths(paidOn: paidOn, schedule: input.schedule, parameters: db.parameters)
        let received = ContributionReceived(
            contributionId: id.uuidString.lowercased(), accountNumber: input.accountNumber, amountFen: input.amountFen,
            channel: input.channel, origin: input.origin, paidAt: Instant.format(input.paidAt), paidOn: paidOn,
            monthsCounted: months, balanceAfterFen: posted.balanceAfter, firstContribution: contributionCountBefore == 0,
            sequence: posted.seq, channelTxnId: input.channelTxnId)
        let event = try db.outboxRow(.contributionReceived, received, account: input.accountNumber)
        return Prepared(insert: Insert(id: id, input: input, months: months, paidOn: paidOn, reference: reference, planned: planned, event: event))
    }

    /// Writes one prepared contribution.
    static func write(_ prepared: Prepared, in db: DatabaseContext) async throws -> Recorded {
        var written: (seq: Int64, balance: Int64)?
        for try await row in try await db.execute(prepared.insert) { written = row }
        // A deposit never fails the guard; anything but the planned posting rolls the transaction back.
        guard let written, written.seq == prepared.posted.seq, written.balance == prepared.posted.balanceAfter else {
            throw Ledger.PostingError.movedUnderLock
        }
        Outbox.wrote(1)
        return prepared.recorded
    }

    /// Writes prepared contributions of distinct accounts with one statement (`GroupInsert`): a
    /// deposit group's (#15). Each posting must come out as planned, or the transaction rolls back.
    static func write(group: [Prepared], in db: DatabaseContext) async throws -> [Recorded] {
        guard group.count > 1 else {
            var recorded: [Recorded] = []
            for prepared in group { recorded.append(try await write(prepared, in: db)) }
            return recorded
        }
        // What the statement assumes (each account once, channel deposits only), checked: a group
        // that broke it would roll back and go one deposit at a time, never write a wrong row.
        let inputs = group.map(\.insert.input)
        guard Set(inputs.map(\.accountNumber)).count == inputs.count,
            inputs.allSatisfy({ $0.channel != nil && $0.channelTxnId != nil && $0.legacyId == nil && $0.origin == .channel })
        else { throw GroupInsert.Unsuitable() }
        var written: [String: (seq: Int64, balance: Int64)] = [:]
        for try await (account, seq, balance) in try await db.execute(GroupInsert(group)) { written[account] = (seq, balance) }
        for prepared in group {
            guard let row = written[prepared.insert.input.accountNumber], row.seq == prepared.posted.seq, row.balance == prepared.posted.balanceAfter else {
                throw Ledger.PostingError.movedUnderLock
            }
        }
        Outbox.wrote(group.count)
        return group.map(\.recorded)
    }
}

/// The ledger account as a deposit sees it, locked for the transaction, with the contribution
/// already recorded under the same natural key (channel + channelTxnId, or legacyId), if any.
/// Reading both under the account lock makes two deliveries of one notification serialise.
struct LockedAccount: Sendable {
    struct Existing: Sendable {
        let contributionId: UUID
        let fingerprint: String
        let balanceAfter: Fen
    }

    let status: String
    let county: String
    let schedule: ContributionSchedule
    let contributionCount: Int64
    /// The business date the account was opened (开户日): channel payments before it are refused.
    let openedOn: BusinessDate
    let existing: Existing?
    /// The balance and the running 积数 read under the same lock, for the posting (one round trip
    /// fewer per deposit); nil for an account from before interest was kept, which the posting
    /// rebuilds under the lock it already holds.
    let interest: LedgerInterest.State?

    typealias Row = (String, String, String, Int64, BusinessDate, UUID?, String?, Int64?, Int64, Int64, BusinessDate, BusinessDate, Int64?)
    static let columns = """
        a.status, a.county, a.schedule, a.contribution_count, a.opened_on, c.contribution_id, c.fingerprint, c.balance_after_fen,
        a.balance_fen, a.last_seq, a.interest_period_from, a.balance_since, a.interest_accrued
        """

    /// Every channel deposit runs it: prepared once per connection. One statement per natural key,
    /// not one with `OR`: a prepared statement soon runs on a generic plan, which cannot know that
    /// the other key is null and would scan every contribution.
    struct ByChannel: LockStatement {
        static let sql = """
            SELECT \(columns) FROM accounts a LEFT JOIN contributions c ON c.channel = $2 AND c.channel_txn_id = $3
            WHERE a.account_number = $1 FOR UPDATE OF a
            """
        let number: String
        let channel: String
        let channelTxnId: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(number)
            bindings.append(channel)
            bindings.append(channelTxnId)
            return bindings
        }
    }

    /// The staff import's lock, by legacy id.
    struct ByLegacyID: LockStatement {
        static let sql = """
            SELECT \(columns) FROM accounts a LEFT JOIN contributions c ON c.legacy_id = $2
            WHERE a.account_number = $1 FOR UPDATE OF a
            """
        let number: String
        let legacyId: String?

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(number)
            bindings.append(legacyId)
            return bindings
        }
    }

    static func lock(
        _ number: String, channel: PaymentChannel? = nil, channelTxnId: String? = nil, legacyId: String? = nil,
        in db: DatabaseContext
    ) async throws -> LockedAccount? {
        let found =
            if let channel, let channelTxnId {
                try await ByChannel(number: number, channel: channel.rawValue, channelTxnId: channelTxnId).rows(in: db)
            } else {
                try await ByLegacyID(number: number, legacyId: legacyId).rows(in: db)
            }
        for row in found { return try LockedAccount(number, row) }
        return nil
    }
}

extension LockedAccount {

    /// The account as its lock statement's row reads it.
    init(_ number: String, _ row: Row) throws {
        let (status, county, schedule, count, opened, id, fingerprint, balance) = (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7)
        self.init(
            status: status, county: county, schedule: try ContributionSchedule.stored(schedule, column: "accounts.schedule"),
            contributionCount: count, openedOn: opened,
            existing: id.map { Existing(contributionId: $0, fingerprint: fingerprint ?? "", balanceAfter: balance ?? 0) },
            interest: LedgerInterest.State.kept(
                account: number, balance: row.8, lastSeq: row.9, openedOn: opened,
                periodFrom: row.10, balanceSince: row.11, accrued: row.12))
    }
}

/// The account lock by either natural key: the same row, decoded and collected the same way.
protocol LockStatement: PostgresPreparedStatement where Row == LockedAccount.Row {}

extension LockStatement {
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }

    func rows(in db: DatabaseContext) async throws -> [Row] {
        try await db.execute(self).reduce(into: []) { $0.append($1) }
    }
}
