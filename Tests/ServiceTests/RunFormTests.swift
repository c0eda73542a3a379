import Contracts
import Foundation
import Loan
import Policy
import PostgresNIO
import RegionalSync
import ServiceRuntime
import Subsidy
import Testing
import Withdrawal

/// Each consumer of `contribution-received` writes a run of contributions (consecutive in a
/// poll) with one statement (`EventHandler.on(_:_:together:)`). The run must leave exactly the
/// rows its events leave applied one at a time: the same contributions go to two pairs of fresh
/// accounts, as one run to the first pair and one event per transaction to the second, and every
/// row of the service's tables that names an account is compared, account for account. An
/// account repeats within the run, with months of its own and a balance that moves, and each
/// account's first contribution comes first (the subsidy weighs its opening subsidy alone).
/// The events go to the handlers, not to the topics, so no other test's consumer applies them.
@Suite("A run of contributions applied together leaves what its events leave one at a time")
struct RunFormTests {
    struct Module: Sendable, CustomTestStringConvertible {
        let descriptor: ServiceDescriptor
        let subscriptions: @Sendable (ServiceRuntime) -> [EventSubscription]
        var testDescription: String { descriptor.name }
    }

    static let modules: [Module] = [
        Module(descriptor: LoanService.descriptor) { LoanService(runtime: $0).subscriptions },
        Module(descriptor: SubsidyService.descriptor) { SubsidyService(runtime: $0).subscriptions },
        Module(descriptor: WithdrawalService.descriptor) { WithdrawalService(runtime: $0).subscriptions },
        Module(descriptor: RegionalSyncService.descriptor) { RegionalSyncService(runtime: $0).subscriptions },
    ]

    /// The run: (account slot, amount, months counted) in order; balances and sequences follow.
    static let script: [(slot: Int, amount: Fen, months: [String])] = [
        (0, 30_000, ["2026-03"]), (1, 20_000, ["2026-03"]), (0, 15_000, ["2026-03", "2026-04"]), (0, 12_000, ["2026-05"]),
        (1, 11_000, ["2026-04"]),
    ]
    static let time = Instant.parse("2026-03-16T02:00:00.000Z")!

    static func contributions(_ accounts: [String]) throws -> [[UInt8]] {
        var balance = [Fen](repeating: 0, count: accounts.count)
        var sequence = [Int64](repeating: 0, count: accounts.count)
        return try script.enumerated().map { index, step in
            balance[step.slot] += step.amount
            sequence[step.slot] += 1
            let account = accounts[step.slot]
            return try CloudEventCoding.encode(
                CloudEvent(
                    source: EventType.source(service: "contribution"), type: EventType.contributionReceived.rawValue, subject: account,
                    time: time.addingTimeInterval(Double(index)),
                    data: ContributionReceived(
                        contributionId: "\(account)-\(index)", accountNumber: account, amountFen: step.amount, channel: .wechat,
                        origin: .channel, paidAt: Instant.format(time), paidOn: TestStack.today,
                        monthsCounted: step.months.map { YearMonth($0)! }, balanceAfterFen: balance[step.slot],
                        firstContribution: sequence[step.slot] == 1, sequence: sequence[step.slot], channelTxnId: "\(account)-\(index)")))
        }
    }

    /// Every row of the schema's tables with an `account_number` that names one of `accounts`, as
    /// text with the accounts and people renamed by slot (and without the columns a row gets from
    /// the clock or a random id), sorted.
    static func rows(_ runtime: ServiceRuntime, schema: String, _ accounts: [(account: String, personRef: String)]) async throws -> [String] {
        var tables: [String] = []
        for try await table in try await runtime.database.query(
            """
            SELECT table_name::text FROM information_schema.columns
            WHERE table_schema = \(schema) AND column_name = 'account_number' ORDER BY 1
            """
        ).decode(String.self) { tables.append(table) }
        var rows: [String] = []
        for table in tables {
            for try await row in try await runtime.database.query(
                """
                SELECT (to_jsonb(t) - 'id' - 'created_at' - 'updated_at')::text FROM \(unescaped: schema).\(unescaped: table) t
                WHERE account_number = ANY(\(accounts.map(\.account))::text[])
                """
            ).decode(String.self) {
                var renamed = row
                for (slot, account) in accounts.enumerated() {
                    renamed = renamed.replacingOccurrences(of: account.account, with: "account-\(slot)")
                    renamed = renamed.replacingOccurrences(of: account.personRef, with: "person-\(slot)")
                }
                rows.append("\(table): \(renamed)")
            }
        }
        return rows.sorted()
    }

    @Test("the same rows, account for account", arguments: modules)
    func sameRows(module: Module) async throws {
        let descriptor = module.descriptor
        try await TestStack.withMigratedRuntime(descriptor) { runtime in
            let handlers = module.subscriptions(runtime).flatMap(\.handlers)
            let contributed = try #require(handlers.first { $0.type == .contributionReceived })
            #expect(contributed.handleRun != nil, "\(descriptor.name) applies a run of contributions together")
            let together = [TestStack.handlerAccount(), TestStack.handlerAccount()]
            let oneByOne = [TestStack.handlerAccount(), TestStack.handlerAccount()]
            for (account, personRef) in together + oneByOne {
                for handler in handlers where handler.type == .accountOpened {
                    try await runtime.transaction { db in try await handler.handle(try TestStack.freshGraduateOpened(account, personRef: personRef), db) }
                }
            }
            let run = try Self.contributions(together.map(\.account))
            try await runtime.transaction { db in try await contributed.apply(run: run, in: db) }
            for event in try Self.contributions(oneByOne.map(\.account)) {
                try await runtime.transaction { db in try await contributed.handle(event, db) }
            }

            let applied = try await Self.rows(runtime, schema: descriptor.schema, together)
            #expect(applied.contains { $0.contains("57000") || $0.contains("12000") }, "the run wrote its rows: \(applied)")
            #expect(applied == (try await Self.rows(runtime, schema: descriptor.schema, oneByOne)))
        }
    }
}
