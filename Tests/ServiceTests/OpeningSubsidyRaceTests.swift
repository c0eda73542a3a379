import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime
import Subsidy
import Testing

/// §3's opening subsidy needs two facts that arrive on different topics: the profile
/// (`account-opened`, consumer `participant-profiles`) and the first lot (`contribution-received`,
/// consumer `contribution-lots`). Each consumer writes its fact and evaluates the rule.
extension SubsidyTests {
    @Test(
        "an account's opening and its first contribution applied at the same moment still grant the opening subsidy once",
        arguments: [true, false])
    func openingFactsAtOnce(contributionFirst: Bool) async throws {
        let descriptor = SubsidyService.descriptor
        try await TestStack.withMigratedRuntime(descriptor) { runtime in
            let service = try SubsidyService(runtime: runtime)
            func handler(_ consumer: String, _ type: EventType) throws -> EventHandler {
                try #require(service.subscriptions.first { $0.consumerName == consumer }?.handlers.first { $0.type == type })
            }
            // A fresh graduate (400.00), known only to this test: the events go to the handlers,
            // not to the topics, so no other test's consumer applies them.
            let (account, personRef) = TestStack.handlerAccount()
            let opened = try TestStack.freshGraduateOpened(account, personRef: personRef)
            let contributed = try CloudEventCoding.encode(
                CloudEvent(
                    source: EventType.source(service: "contribution"), type: EventType.contributionReceived.rawValue, subject: account,
                    data: ContributionReceived(
                        contributionId: UUID().uuidString.lowercased(), accountNumber: account, amountFen: 50_000, channel: .wechat,
                        origin: .channel, paidAt: "2026-03-16T02:00:00.000Z", paidOn: TestStack.today,
                        monthsCounted: [YearMonth("2026-03")!], balanceAfterFen: 50_000, firstContribution: true, sequence: 1,
                        channelTxnId: TestStack.unique("wx"))))
            let first =
                contributionFirst
                ? (try handler("contribution-lots", .contributionReceived), contributed) : (try handler("participant-profiles", .accountOpened), opened)
            let second =
                contributionFirst
                ? (try handler("participant-profiles", .accountOpened), opened) : (try handler("contribution-lots", .contributionReceived), contributed)

            // The first fact's transaction stays open until the second has either finished (it did
            // not wait: it could not see the first fact) or is waiting for a lock the first holds.
            _ = try await TestStack.whileHolding(runtime.database) { connection in
                try await first.0.handle(first.1, runtime.context(on: connection))
            } request: {
                try await runtime.transaction { db in try await second.0.handle(second.1, db) }
            }

            var granted: [Int64] = []
            for try await amount in try await runtime.database.query(
                "SELECT amount_fen FROM grants WHERE person_ref = \(personRef) AND kind = 'opening'"
            ).decode(Int64.self) { granted.append(amount) }
            #expect(granted == [40_000], "the opening subsidy, once, whichever fact was applied first")
        }
    }
}
