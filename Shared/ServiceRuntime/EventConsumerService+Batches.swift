import Contracts
import Foundation
import Kafka
import Logging
import PostgresNIO

/// Group commit for consumers (#15): the messages of one poll are applied in one transaction,
/// with one inbox statement claiming all their ids, instead of a transaction (and a pooled
/// connection, a BEGIN, a claim and a COMMIT) per message. A busy consumer polls more messages at
/// a time, so the saving grows with the load.
///
/// It is the same work as `process` one message at a time, and gives the same effects: each
/// partition's messages are applied in their order (an account's events share a partition), a
/// duplicate id is skipped, nothing is stored as consumed before the commit. Only the plain case
/// is taken together; whatever needs a decision of its own falls back to `process` for every
/// message of the poll, from scratch (the batch's transaction rolled back whole):
/// - a subscription with its own check or that refuses replays (the partner feed);
/// - a record to dead-letter (malformed, of an unknown type, without a valid writer's signature);
/// - a handler's refusal (`EventRejection`) or any failure, transient ones included (`process`
///   retries those with its backoff).
/// A cancellation is never swallowed: it ends the consumer as it would one message at a time.
///
/// Within the transaction, consecutive events of one type whose handler has a run form
/// (`EventHandler.on(_:_:together:)`) are applied by one call, and so by one statement where the
/// handler allows, instead of a statement per event: a poll of contributions is one write per
/// read model, not one per contribution.
extension EventConsumerService {
    /// One message the batch applies: its header, its handler and its span of the writer's trace.
    struct Applied {
        let message: KafkaMessage
        let header: CloudEventHeader
        let handler: EventHandler
        let span: TraceParent
    }

    /// How long a batch waits for a row lock before it goes one message at a time.
    static let batchLockTimeout = "200ms"

    /// Applies `batch` in one transaction; false (nothing done) when it must go one by one.
    func applyTogether(_ batch: [KafkaMessage]) async throws -> Bool {
        guard subscription.verify == nil, !subscription.deadLetterDuplicates, subscription.redact == nil else { return false }
        var work: [Applied] = []
        work.reserveCapacity(batch.count)
        let propagation = W3CTracePropagation()
        for message in batch {
            guard let header = try? CloudEventCoding.header(from: message.value), EventType(rawValue: header.type) != nil else { return false }
            // A type this consumer does not handle is skipped, as `process` skips it (unchecked).
            guard let handler = handlers[header.type] else { continue }
            if subscription.verifiesWriter, eventKeys.rejection(of: message) != nil { return false }
            work.append(Applied(message: message, header: header, handler: handler, span: propagation.span(continuing: propagation.parent(of: message))))
        }
        guard !work.isEmpty else { return true }

        let started = ContinuousClock.now
        let writes = OutboxWrites()
        let outcomes: [Outcome]
        do {
            outcomes = try await OutboxWrites.$current.withValue(writes) {
                try await database.transaction { connection -> [Outcome] in
                    // The batch holds each event's row locks until its commit: rather than wait on a
                    // row another transaction holds (or deadlock with another consumer's batch, or
                    // keep every partition of the poll behind one busy account), it gives up soon
                    // and the poll goes one message at a time, which waits as it always did.
                    try await connection.query("SET LOCAL lock_timeout = '\(unescaped: Self.batchLockTimeout)'", logger: logger)
                    var fresh = try await claimAll(work, on: connection)
                    // The first copy of an id is applied; a later copy in the same poll, or an id
                    // claimed before, is a duplicate, which changes nothing.
                    let outcomes = work.map { fresh.remove($0.header.id) != nil ? Outcome.processed : .duplicate }
                    let applied = zip(work, outcomes).filter { $0.1 == .processed }.map(\.0)
                    // Steps the events share run once, after the last of them (the fund pool's release).
                    let beforeCommit = BeforeCommit()
                    var last: (db: DatabaseContext, span: TraceParent)?
                    for run in Self.runs(of: applied) {
                        if run.count > 1, let together = run[0].handler.handleRun {
                            // One call for the run, under its last event's context and trace; each
                            // event keeps its own for what it sets off alone (`RunMember.alone`).
                            let members = run.map { item in
                                RunMember(
                                    event: item.message.value, context: self.context(on: connection, eventID: item.header.id, beforeCommit: beforeCommit),
                                    span: item.span)
                            }
                            let item = run[run.count - 1]
                            let db = members[members.count - 1].context
                            try await TraceParent.withSpan(item.span) { try await together(members, db) }
                            last = (db, item.span)
                        } else {
                            for item in run {
                                let db = self.context(on: connection, eventID: item.header.id, beforeCommit: beforeCommit)
                                try await TraceParent.withSpan(item.span) { try await item.handler.handle(item.message.value, db) }
                                last = (db, item.span)
                            }
                        }
                    }
                    // Under the last event's context and trace (what they write continues its trace).
                    if let last { try await TraceParent.withSpan(last.span) { try await beforeCommit.run(in: last.db) } }
                    return outcomes
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            // One by one, where each message gets its own outcome (a dead letter, a retry).
            logger.debug(
                "batch applied one by one",
                metadata: ["consumer": "\(subscription.consumerName)", "messages": "\(batch.count)", "error": "\(DatabaseErrors.summary(error))"])
            HPFMetrics.batchFallbacks(consumer: subscription.consumerName).increment()
            return false
        }
        let took = ContinuousClock.now - started
        for (item, outcome) in zip(work, outcomes) {
            if outcome == .duplicate { duplicates.increment() } else { processed.increment() }
            HPFMetrics.handlerDuration(consumer: subscription.consumerName, type: item.header.type).record(took)
            logOutcome(outcome, item.message, parsed: item.header, span: item.span, took: took)
        }
        if writes.wroteAny { signal.notify() }
        return true
    }

    /// `applied` cut into runs, in order: consecutive events of one type whose handler applies a
    /// run together (`EventHandler.handleRun`) form one run; every other event is a run of its
    /// own. Nothing is applied between a run's events, so applying them together leaves what
    /// applying them one after another would.
    static func runs(of applied: [Applied]) -> [[Applied]] {
        var runs: [[Applied]] = []
        for item in applied {
            if item.handler.handleRun != nil, let previous = runs.last?.last, previous.header.type == item.header.type {
                runs[runs.count - 1].append(item)
            } else {
                runs.append([item])
            }
        }
        return runs
    }

    /// Claims every id of `work` for this consumer in one statement; returns those that were new.
    private func claimAll(_ work: [Applied], on connection: PostgresConnection) async throws -> Set<String> {
        let keys = work.map { DeadLetterStore.storable($0.message.keyString, limit: 500) }
        let claims = InboxClaims(
            consumer: subscription.consumerName, eventIDs: work.map(\.header.id), keys: keys.map { $0 ?? "" }, keyed: keys.map { $0 != nil })
        var fresh: Set<String> = []
        for try await id in try await connection.execute(claims, logger: logger) { fresh.insert(id) }
        return fresh
    }
}
