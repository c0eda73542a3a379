import Contracts
import Foundation
import Kafka
import Policy
import PostgresNIO
import ServiceRuntime
import Synchronization
import Testing

/// Group commit in the consumers (`EventConsumerService.applyTogether`): a poll's messages in
/// one transaction, with the same effects as one at a time.
extension OutboxInboxTests {
    /// Sixty events over six accounts and three partitions, two of them sent twice, all on the
    /// topic before the consumer starts (so that its polls bring many at once).
    func publishBacklog(_ runtime: ServiceRuntime, topic: String) async throws -> (accounts: [String], events: [CloudEvent<ContributionReceived>]) {
        try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 3)])
        let accounts = (0..<6).map { _ in TestStack.unique("acct") }
        let events = (0..<60).map { index in event(account: accounts[index % accounts.count], amount: Fen(index + 1)) }
        for (index, event) in events.enumerated() {
            let value = try CloudEventCoding.encode(event)
            try await runtime.producer.send(OutgoingMessage(topic: topic, key: event.subject, value: value))
            // A redelivery (a relay that published twice): the copy must change nothing.
            if index == 10 || index == 41 { try await runtime.producer.send(OutgoingMessage(topic: topic, key: event.subject, value: value)) }
        }
        return (accounts, events)
    }

    /// Each account's effects, in the order they were applied.
    func appliedAmounts(_ runtime: ServiceRuntime, account: String) async throws -> [Fen] {
        var amounts: [Fen] = []
        for try await amount in try await runtime.database.query("SELECT amount_fen FROM applied WHERE account = \(account) ORDER BY seq").decode(Fen.self) {
            amounts.append(amount)
        }
        return amounts
    }

    @Test("a backlog is applied a poll at a time in one transaction: each account's events once, in order, a redelivered copy skipped")
    func backlogAppliedTogether() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.batch")
            let (accounts, events) = try await publishBacklog(runtime, topic: topic)
            let consumerName = TestStack.unique("batch")
            let consumer = EventConsumerService(subscription: subscription(consumerName, topic: topic), runtime: runtime)
            let running = Task { try await consumer.run() }
            defer { running.cancel() }
            #expect(
                try await TestStack.eventually {
                    var total: Int64 = 0
                    for try await count in try await runtime.database.query(
                        "SELECT count(*) FROM processed_events WHERE consumer = \(consumerName)"
                    ).decode(Int64.self) { total = count }
                    return total == Int64(events.count)
                })
            for account in accounts {
                let expected = events.filter { $0.subject == account }.map(\.data.amountFen)
                #expect(try await appliedAmounts(runtime, account: account) == expected, "each event once, in the account's order")
            }
            // A transaction's claims share its start time (`now()`): fewer times than events means
            // that polls were applied together, not one transaction per event.
            var transactions: Int64 = 0
            for try await count in try await runtime.database.query(
                "SELECT count(DISTINCT processed_at) FROM processed_events WHERE consumer = \(consumerName)"
            ).decode(Int64.self) { transactions = count }
            #expect(transactions < Int64(events.count))
        }
    }

    @Test("an event refused inside a batch sends the poll one message at a time: only it is dead-lettered, the rest applied once")
    func refusalInsideBatch() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.batch-refusal")
            let (accounts, events) = try await publishBacklog(runtime, topic: topic)
            let refusedAmount: Fen = 33
            let consumerName = TestStack.unique("batch-refusal")
            let base = subscription(consumerName, topic: topic)
            let refusing = EventSubscription(
                consumerName: consumerName, topicNames: [topic],
                handlers: [
                    .on(.contributionReceived, ContributionReceived.self) { event, db in
                        try await base.handlers[0].handle(try CloudEventCoding.encode(event), db)
                        // After its effect: the batch's transaction must take the effect back with it.
                        if event.data.amountFen == refusedAmount { throw EventRejection(detail: "amount \(refusedAmount) is refused") }
                    }
                ], verifiesWriter: false)
            let consumer = EventConsumerService(subscription: refusing, runtime: runtime)
            let relay = relay(runtime)
            let running = [Task { try await consumer.run() }, Task { try await relay.run() }]
            defer { running.forEach { $0.cancel() } }
            let letters = try await TestStack.deadLetters(count: 1) { $0.consumer == consumerName }
            #expect(letters.map(\.reason) == [.ruleViolation])
            #expect(
                try await TestStack.eventually {
                    try await accounts.asyncAllSatisfy { account in
                        try await appliedAmounts(runtime, account: account)
                            == events.filter { $0.subject == account && $0.data.amountFen != refusedAmount }.map(\.data.amountFen)
                    }
                })
        }
    }

    /// The size of every run a handler was given (`EventHandler.on(_:_:together:)`).
    final class RunSizes: Sendable {
        let sizes = Mutex<[Int]>([])
    }

    @Test(
        "a poll's consecutive events of one type go to their handler's run form together, between events of other types, each once and in its account's order")
    func runsAppliedTogether() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.batch-runs")
            try await runtime.producer.createTopics([TopicSpec(name: topic, partitions: 3)])
            let accounts = (0..<6).map { _ in TestStack.unique("acct") }
            // Every seventh event is an account's closure (applied one at a time, amount -1 in
            // `applied`) between its contributions; two contributions are delivered twice.
            var expected: [String: [Fen]] = [:]
            for index in 0..<70 {
                let account = accounts[index % accounts.count]
                let value: [UInt8]
                if index % 7 == 3 {
                    let closed = CloudEvent(
                        source: "/hpf/test", type: EventType.accountClosed.rawValue, subject: account,
                        data: AccountClosed(accountNumber: account, closureReason: .death, closedOn: TestStack.today))
                    value = try CloudEventCoding.encode(closed)
                    expected[account, default: []].append(-1)
                } else {
                    value = try CloudEventCoding.encode(event(account: account, amount: Fen(index + 1)))
                    expected[account, default: []].append(Fen(index + 1))
                }
                try await runtime.producer.send(OutgoingMessage(topic: topic, key: account, value: value))
                if index == 12 || index == 41 { try await runtime.producer.send(OutgoingMessage(topic: topic, key: account, value: value)) }
            }
            let runs = RunSizes()
            let consumerName = TestStack.unique("batch-runs")
            let subscription = EventSubscription(
                consumerName: consumerName, topicNames: [topic],
                handlers: [
                    .on(
                        .contributionReceived, ContributionReceived.self,
                        together: { events, db in
                            runs.sizes.withLock { $0.append(events.count) }
                            // In the run's order: `seq` numbers the rows as they are inserted.
                            try await db.query(
                                """
                                INSERT INTO applied (event_id, account, amount_fen)
                                SELECT id, account, amount FROM unnest(\(events.map(\.event.id))::text[], \(events.map(\.event.data.accountNumber))::text[],
                                    \(events.map(\.event.data.amountFen))::bigint[]) WITH ORDINALITY AS e(id, account, amount, n) ORDER BY n
                                """)
                        }),
                    .on(.accountClosed, AccountClosed.self) { event, db in
                        try await db.query("INSERT INTO applied (event_id, account, amount_fen) VALUES (\(event.id), \(event.data.accountNumber), -1)")
                    },
                ], verifiesWriter: false)
            let consumer = EventConsumerService(subscription: subscription, runtime: runtime)
            let running = Task { try await consumer.run() }
            defer { running.cancel() }
            #expect(
                try await TestStack.eventually {
                    try await accounts.asyncAllSatisfy { account in try await appliedAmounts(runtime, account: account) == expected[account] }
                }, "each event once, in its account's order")
            let sizes = runs.sizes.withLock { $0 }
            #expect(sizes.contains { $0 > 1 }, "the poll's consecutive contributions went together: \(sizes)")
        }
    }

    /// How many polls of `consumer` went one message at a time (`hpf_consumer_batch_fallbacks_total`).
    func batchFallbacks(_ consumer: String) -> Int {
        var buffer: [UInt8] = []
        Observability.registry.emit(into: &buffer)
        let series = "batch_fallbacks_total{consumer=\"\(consumer)\"} "
        for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.contains(series) {
            return Int(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    @Test(
        "a batch kept waiting for a lock past its timeout goes one message at a time; stopped while it waits and replaced, every event is applied once, in order"
    )
    func batchLockTimeoutThenStop() async throws {
        try await withRuntime { runtime in
            let topic = TestStack.unique("rt.batch-lock")
            let (accounts, events) = try await publishBacklog(runtime, topic: topic)
            let consumerName = TestStack.unique("batch-lock")
            let first = Task { try await EventConsumerService(subscription: subscription(consumerName, topic: topic), runtime: runtime).run() }
            try await runtime.database.withConnection { holder in
                // Every write to `applied` waits behind this lock, far longer than a batch's 200 ms.
                try await holder.query("BEGIN", logger: TestStack.logger)
                try await holder.query("LOCK TABLE applied IN SHARE MODE", logger: TestStack.logger)
                let fellBack = try await TestStack.eventually { batchFallbacks(consumerName) >= 1 }
                #expect(fellBack, "the batch gave up on the lock and went one message at a time")
                // Stopped while its first message waits for the lock (the shape of a deploy or a
                // rebalance in the middle of a poll), then the lock goes.
                first.cancel()
                try await holder.query("ROLLBACK", logger: TestStack.logger)
            }
            // The stopped consumer ends once its statement returns (a deadline, not a hang, if not).
            try await withDeadline(seconds: 120) { _ = try? await first.value }
            // Its replacement in the same group takes the partitions from the committed offsets.
            let second = Task { try await EventConsumerService(subscription: subscription(consumerName, topic: topic), runtime: runtime).run() }
            defer { second.cancel() }
            #expect(
                try await TestStack.eventually {
                    try await accounts.asyncAllSatisfy { account in
                        try await appliedAmounts(runtime, account: account) == events.filter { $0.subject == account }.map(\.data.amountFen)
                    }
                }, "each event once, in its account's order")
        }
    }
}

extension Array where Element: Sendable {
    /// `allSatisfy` with an async predicate, in order.
    func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where !(try await predicate(element)) { return false }
        return true
    }
}
