import Contracts
import Contribution
import Enrolment
import Foundation
import Logging
import Policy
import PostgresNIO
import ServiceRuntime
import Testing

/// Group commit for deposits (`DepositGroups`, #15): notifications that arrive together are
/// recorded in shared transactions, each still answered with its own result, and a group that
/// cannot commit together goes one deposit at a time without failing the others.
@Suite("Deposits recorded together")
struct DepositGroupTests {
    typealias Answer = Result<DepositGroups.Answer, any Error>

    /// Enrols `count` people and runs `body` with their accounts and a contribution runtime of the
    /// test's own (its database client running), beside the live ledger that opened the accounts.
    func withAccounts(
        _ count: Int, _ body: @escaping @Sendable ([String], ServiceRuntime, LiveServices) async throws -> Void
    ) async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self)]) { s in
            var accounts: [String] = []
            for _ in 0..<count {
                accounts.append(
                    try await TestStack.enrol(s.enrolment, s.ledger, Bodies.enrolment(idNumber: TestStack.newResidentID(birth: "1991-04-04", male: false))))
            }
            let descriptor = ContributionService.descriptor
            let runtime = try ServiceRuntime(descriptor: descriptor, config: TestStack.config(descriptor), clock: TestStack.clock)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await runtime.database.client.run() }
                defer { group.cancelAll() }
                try await body(accounts, runtime, s)
                await runtime.producer.shutdown()
            }
        }
    }

    static let paidAt = Instant.parse(Bodies.inWindow)!

    static func deposit(_ account: String, _ amount: Fen, txn: String = TestStack.unique("wx")) -> ChannelDeposit {
        ChannelDeposit(accountNumber: account, amountFen: amount, channel: .wechat, channelTxnId: txn, paidAt: paidAt)
    }

    /// What the ledger says was contributed to `account` (not its balance: another test's subsidy
    /// service, reading the whole topic, may credit an opening subsidy for these first deposits).
    static func contributed(_ s: LiveServices, _ account: String) async throws -> Int64? {
        try await s.ledger.get("/v1/accounts/\(account)/balance").int("contributedFen")
    }

    static func code(_ answer: Answer) -> String? {
        if case .failure(let error) = answer { return (error as? Problem)?.code ?? "\(error)" }
        return nil
    }

    @Test("deposits arriving together share transactions, and each is answered with its own result")
    func together() async throws {
        try await withAccounts(3) { accounts, runtime, s in
            let groups = DepositGroups(runtime: runtime)
            // Ten good deposits per account; the second copy of three of them (a channel retrying);
            // one transaction id sent again with another amount; two below the minimum; one to an
            // account that does not exist.
            var deposits: [ChannelDeposit] = []
            for (index, account) in accounts.enumerated() {
                for n in 0..<10 { deposits.append(Self.deposit(account, 30_000 + Fen(index * 1_000 + n))) }
            }
            let retried = [deposits[0], deposits[11], deposits[22]]
            let clash = Self.deposit(accounts[0], 40_000, txn: deposits[5].channelTxnId)
            let unknown = Self.deposit("3207069999999999", 30_000)
            let refusals = [Self.deposit(accounts[1], 1), Self.deposit(accounts[2], 1), unknown]
            let all = deposits + retried + [clash] + refusals
            let logger = Logger(label: "test")
            // Each request with a trace of its own, as each notification's HTTP request has.
            let spans = all.map { _ in TraceParent.root() }
            let answers = try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
                for (index, deposit) in all.enumerated() {
                    group.addTask {
                        do {
                            return (index, .success(try await TraceParent.withSpan(spans[index]) { try await groups.record(deposit, logger: logger) }))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                return try await group.reduce(into: [Int: Answer]()) { $0[$1.0] = $1.1 }
            }
            #expect(groups.groupsApplied < all.count, "\(groups.groupsApplied) groups for \(all.count) deposits")

            // A retried deposit and its original: one recorded, one replayed, one contribution.
            for (copy, original) in zip(deposits.count..<deposits.count + 3, [0, 11, 22]) {
                let first = try #require(try? answers[original]?.get()), second = try #require(try? answers[copy]?.get())
                #expect(first.replay != second.replay)
                #expect(first.recorded.contributionId == second.recorded.contributionId)
            }
            // The clash: whichever came second is refused, the other recorded.
            let clashed = [answers[5]!, answers[deposits.count + 3]!]
            #expect(clashed.compactMap { try? $0.get() }.count == 1)
            #expect(clashed.compactMap(Self.code) == ["duplicate_transaction_mismatch"])
            let refused = (deposits.count + 4..<all.count).map { Self.code(answers[$0]!) }
            #expect(refused == ["below_minimum_contribution", "below_minimum_contribution", "unknown_account"])

            // One contribution row and one event for each deposit answered as recorded (none for a
            // refusal or a replay), the event under the trace of the request it answers.
            let created = all.indices.filter { (try? answers[$0]?.get())?.replay == false }
            let (rows, events) = try await TestStack.withDatabase(of: ContributionService.descriptor) { database in
                var rows = 0
                for try await n in try await database.query("SELECT count(*)::int FROM contributions WHERE account_number = ANY(\(accounts))").decode(Int.self)
                {
                    rows = n
                }
                var events: [(payload: String, headers: String)] = []
                for try await event in try await database.query(
                    "SELECT payload, headers::text FROM outbox WHERE type = \(EventType.contributionReceived.rawValue) AND aggregateid = ANY(\(accounts))"
                ).decode((String, String).self) { events.append(event) }
                return (rows, events)
            }
            #expect(rows == created.count)
            #expect(events.count == created.count)
            for index in created {
                let id = try #require(try? answers[index]?.get()).recorded.contributionId
                let event = events.first { $0.payload.contains(id) }
                #expect(event?.headers.contains(spans[index].traceID) == true, "the event of deposit \(index) carries its request's trace")
            }

            // Each account's contributions are the sum of what was recorded on it, and each recorded
            // deposit was answered with a balance of its own (one posting each, none lost).
            for account in accounts {
                let recorded = all.indices.filter { all[$0].accountNumber == account }.compactMap { index -> (Fen, ContributionPosting.Recorded)? in
                    guard let answer = try? answers[index]?.get(), !answer.replay else { return nil }
                    return (all[index].amountFen, answer.recorded)
                }
                let total = recorded.reduce(0) { $0 + $1.0 }
                #expect(try await Self.contributed(s, account) == total)
                #expect(Set(recorded.map(\.1.balanceFen)).count == recorded.count)
            }
        }
    }

    /// What the deposits wrote on `accounts`: the account's contribution totals, its contribution
    /// postings, contributions and months, and its `contribution-received` events, as text with
    /// the accounts and the channel transaction ids renamed by slot and without the ids a row
    /// gets at random. Balances and sequences are left out: another test's subsidy service,
    /// reading the whole topic, may credit these accounts between the deposits (they are checked
    /// against each deposit's answer instead, `answeredAsWritten`).
    static func ledgerRows(_ runtime: ServiceRuntime, _ accounts: [String], txns: [[String]]) async throws -> [String] {
        var rows: [String] = []
        for try await row in try await runtime.database.query(
            """
            SELECT 'account ' || to_jsonb(a)::text FROM (
                SELECT account_number, contributed_fen, contribution_count FROM accounts WHERE account_number = ANY(\(accounts))) a
            UNION ALL SELECT 'posting ' || (to_jsonb(p) - 'id' - 'seq' - 'balance_after_fen')::text FROM postings p
                WHERE account_number = ANY(\(accounts)) AND kind = 'contribution'
            UNION ALL SELECT 'contribution ' || (to_jsonb(c) - 'contribution_id' - 'posting_seq' - 'balance_after_fen')::text FROM contributions c
                WHERE account_number = ANY(\(accounts))
            UNION ALL SELECT 'month ' || to_jsonb(m)::text FROM contribution_months m WHERE account_number = ANY(\(accounts))
            UNION ALL SELECT 'event ' || topic || ' ' || type || ' ' || aggregateid || ' '
                    || ((payload::jsonb #- '{data,contributionId}'::text[] #- '{data,balanceAfterFen}'::text[] #- '{data,sequence}'::text[])
                        - 'id' - 'time')::text
                FROM outbox WHERE type = \(EventType.contributionReceived.rawValue) AND aggregateid = ANY(\(accounts))
            """
        ).decode(String.self) {
            var renamed = row
            for (slot, account) in accounts.enumerated() {
                renamed = renamed.replacingOccurrences(of: account, with: "account-\(slot)")
                for (n, txn) in txns[slot].enumerated() { renamed = renamed.replacingOccurrences(of: txn, with: "txn-\(slot)-\(n)") }
            }
            rows.append(renamed)
        }
        return rows.sorted()
    }

    /// Each recorded deposit's answer (its contribution id and balance) is its own deposit's
    /// contribution (account, amount, transaction id), and what that row, its posting and its
    /// event say.
    static func answeredAsWritten(_ runtime: ServiceRuntime, _ recorded: [(ChannelDeposit, ContributionPosting.Recorded)]) async throws -> Bool {
        for (deposit, answer) in recorded {
            var found = false
            for try await (rowBalance, postingBalance, eventBalance, eventSequence, seq) in try await runtime.database.query(
                """
                SELECT c.balance_after_fen, p.balance_after_fen, (o.payload::jsonb #>> '{data,balanceAfterFen}')::bigint,
                    (o.payload::jsonb #>> '{data,sequence}')::bigint, c.posting_seq
                FROM contributions c JOIN postings p ON p.account_number = c.account_number AND p.seq = c.posting_seq
                JOIN outbox o ON o.type = \(EventType.contributionReceived.rawValue) AND o.payload::jsonb #>> '{data,contributionId}' = c.contribution_id::text
                WHERE c.contribution_id = \(UUID(uuidString: answer.contributionId) ?? UUID()) AND c.account_number = \(deposit.accountNumber)
                  AND c.amount_fen = \(deposit.amountFen) AND c.channel_txn_id = \(deposit.channelTxnId)
                """
            ).decode((Int64, Int64, Int64, Int64, Int64).self) {
                found = [rowBalance, postingBalance, eventBalance].allSatisfy { $0 == answer.balanceFen } && eventSequence == seq
            }
            guard found else { return false }
        }
        return true
    }

    @Test("the first deposits of a group's accounts, written by one statement, leave what each deposit alone leaves")
    func groupWriteSameAsAlone() async throws {
        try await withAccounts(6) { accounts, runtime, s in
            let logger = Logger(label: "test")
            let (grouped, alone) = (Array(accounts[0..<3]), Array(accounts[3..<6]))
            let amounts: [[Fen]] = [[30_000, 12_000], [31_000, 45_000], [45_000, 11_300]]
            let groupedTxns = amounts.map { $0.map { _ in TestStack.unique("wx") } }
            let aloneTxns = amounts.map { $0.map { _ in TestStack.unique("wx") } }
            var recorded: [(ChannelDeposit, ContributionPosting.Recorded)] = []
            // Two rounds: the second meets balances, sequences and interest states the first wrote.
            for round in 0..<2 {
                let deposits = (0..<3).map { slot in Self.deposit(grouped[slot], amounts[slot][round], txn: groupedTxns[slot][round]) }
                let together = await DepositGroups.together(deposits.map { DepositGroups.Request(deposit: $0, logger: logger) }, runtime: runtime)
                guard case .answered(let answers) = together else {
                    Issue.record("the group did not commit together: \(together)")
                    return
                }
                #expect(answers.allSatisfy { (try? $0.get())?.replay == false })
                recorded += zip(deposits, answers).compactMap { deposit, answer in (try? answer.get()).map { (deposit, $0.recorded) } }
                for slot in 0..<3 {
                    let request = DepositGroups.Request(deposit: Self.deposit(alone[slot], amounts[slot][round], txn: aloneTxns[slot][round]), logger: logger)
                    let answer = await DepositGroups.apply([request], runtime: runtime)
                    #expect((try? answer[0].get())?.replay == false)
                }
            }
            let written = try await Self.ledgerRows(runtime, grouped, txns: groupedTxns)
            #expect(written.filter { $0.hasPrefix("posting ") }.count == 6, "\(written)")
            #expect(written == (try await Self.ledgerRows(runtime, alone, txns: aloneTxns)))
            #expect(try await Self.answeredAsWritten(runtime, recorded), "each answer is its own contribution, posting and event")
            #expect(try await Self.contributed(s, grouped[1]) == 76_000)

            // A group that writes its first deposits before a later one of the same account: a
            // copy of one notification, a transaction id already used, an unknown account.
            // In account order, as the group records them: `a`'s deposits come before `b`'s.
            let (a, b) = grouped[0] < grouped[1] ? (grouped[0], grouped[1]) : (grouped[1], grouped[0])
            let before = [grouped[0]: Fen(42_000), grouped[1]: Fen(76_000)]
            let x = Self.deposit(a, 20_000), y = Self.deposit(b, 21_000), z = Self.deposit(a, 22_000)
            let mixed = [x, x, y, z, Self.deposit("3207069999999999", 30_000), Self.deposit(b, 23_000, txn: x.channelTxnId)]
            let together = await DepositGroups.together(mixed.map { DepositGroups.Request(deposit: $0, logger: logger) }, runtime: runtime)
            guard case .answered(let answers) = together else {
                Issue.record("the mixed group did not commit together: \(together)")
                return
            }
            #expect(answers.map(Self.code) == [nil, nil, nil, nil, "unknown_account", "duplicate_transaction_mismatch"])
            let (first, copy) = (try answers[0].get(), try answers[1].get())
            #expect(!first.replay && copy.replay && first.recorded.contributionId == copy.recorded.contributionId)
            #expect(try await Self.answeredAsWritten(runtime, try [0, 2, 3].map { (mixed[$0], try answers[$0].get().recorded) }))
            #expect(try await Self.contributed(s, a) == (before[a] ?? 0) + 20_000 + 22_000)
            #expect(try await Self.contributed(s, b) == (before[b] ?? 0) + 21_000)
        }
    }

    @Test("a rule's refusal in a group is that deposit's answer alone: the group commits the others")
    func refusalInGroup() async throws {
        try await withAccounts(2) { accounts, runtime, s in
            let logger = Logger(label: "test")
            let good = Self.deposit(accounts[0], 30_000)
            let group = [good, Self.deposit(accounts[1], 1), Self.deposit("3207069999999999", 30_000), Self.deposit(accounts[1], 31_000), good]
            let together = await DepositGroups.together(group.map { DepositGroups.Request(deposit: $0, logger: logger) }, runtime: runtime)
            guard case .answered(let answers) = together else {
                Issue.record("the group did not commit together: \(together)")
                return
            }
            #expect(answers.map(Self.code) == [nil, "below_minimum_contribution", "unknown_account", nil, nil])
            let first = try answers[0].get(), again = try answers[4].get()
            #expect(!first.replay && again.replay && first.recorded.contributionId == again.recorded.contributionId)
            #expect(try answers[3].get().recorded.balanceFen == 31_000)
            #expect(try await Self.contributed(s, accounts[0]) == 30_000)
            #expect(try await Self.contributed(s, accounts[1]) == 31_000)
        }
    }

    @Test("a group that cannot commit together goes one deposit at a time, and the others are recorded")
    func oneByOne() async throws {
        try await withAccounts(3) { accounts, runtime, s in
            // Another instance is recording transaction `txn` on account 0 and has not committed. The
            // group reports the same transaction id for account 1 (a channel's mistake) beside two
            // good deposits: its insert waits for the other's, then fails on the unique index when
            // that one commits, so the whole group rolls back and goes again one by one.
            let txn = TestStack.unique("wx")
            let first = Self.deposit(accounts[0], 30_000, txn: txn)
            let group = [Self.deposit(accounts[1], 30_000, txn: txn), Self.deposit(accounts[2], 31_000), Self.deposit(accounts[1], 32_000)]
            let logger = Logger(label: "test")
            let (waited, answers) = try await TestStack.whileHolding(runtime.database) { connection in
                _ = try await first.record(in: runtime.context(on: connection))
            } request: {
                await DepositGroups.apply(group.map { DepositGroups.Request(deposit: $0, logger: logger) }, runtime: runtime)
            }
            #expect(waited, "the group waited for the other transaction's insert")
            #expect(answers.count == 3)
            #expect(Self.code(answers[0]) == "duplicate_transaction_mismatch")
            let recorded = answers.dropFirst().compactMap { try? $0.get() }
            #expect(recorded.count == 2 && recorded.allSatisfy { !$0.replay })
            #expect(try await Self.contributed(s, accounts[1]) == 32_000)
            #expect(try await Self.contributed(s, accounts[2]) == 31_000)
            #expect(try await Self.contributed(s, accounts[0]) == 30_000)
        }
    }
}
