import Contracts
import Foundation
import Hummingbird
import Kafka
import PostgresNIO

/// `GET /v1/dead-letters` (operator, auditor) and `POST /v1/dead-letters/{id}/redrive`
/// (operator), on every service: what its consumers dead-lettered, and re-delivery of a kept
/// record to the consumer that refused it, through the inbox (so it takes effect at most once).
struct DeadLetterRoutes: Sendable {
    let runtime: ServiceRuntime

    enum State: String, CaseIterable { case open, redriven, all }

    static let columns = """
        seq, id, consumer, reason, detail, event_id, event_type, topic, record_partition, record_offset, record_key,
        record_value IS NOT NULL AS kept, to_char(dead_lettered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS dead_lettered_at,
        to_char(redriven_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS redriven_at, redriven_by, redrive_outcome
        """

    /// One letter as the routes show it, read by column name.
    static func view(_ row: PostgresRow) throws -> DeadLetterEntry {
        let c = NamedColumns(row, table: "dead_letters")
        let redrivenAt: String? = try c("redriven_at")
        let by: String? = try c("redriven_by")
        let outcome: String? = try c("redrive_outcome")
        return DeadLetterEntry(
            id: (try c("id", as: UUID.self)).uuidString.lowercased(), seq: try c("seq"), consumer: try c("consumer"), reason: try c("reason"),
            detail: try c("detail"), eventId: try c("event_id"), eventType: try c("event_type"), topic: try c("topic"),
            partition: try c("record_partition"), offset: try c("record_offset"), key: try c("record_key"),
            deadLetteredAt: try c("dead_lettered_at"), redrivable: try c("kept"),
            redrive: redrivenAt.map { .init(at: $0, by: by ?? "", outcome: outcome ?? "pending") })
    }

    /// `?state=open|redriven|all` (open), `?consumer=NAME`, `?afterSeq=N`, `?limit=1..1000` (100).
    @Sendable func list(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let query = QueryInput(request)
        let after = try query.integer("afterSeq", range: 0...Int64.max) ?? 0
        let limit = try query.integer("limit", range: 1...1000) ?? 100
        let state = try query.choice("state", State.self) ?? .open
        let consumer = try query.text("consumer")
        if let consumer, consumer.count > 100 { throw Problem.malformed("consumer: at most 100 characters") }
        // A redrive left `pending` counts as open: its effect may not have been applied.
        let redriven: Bool? =
            switch state {
            case .open: false;
            case .redriven: true;
            case .all: nil
            }
        let rows = try await runtime.database.query(
            """
            SELECT \(unescaped: Self.columns) FROM dead_letters
            WHERE seq > \(after) AND (\(consumer)::text IS NULL OR consumer = \(consumer))
              AND (\(redriven)::bool IS NULL OR (redriven_at IS NOT NULL AND redrive_outcome <> 'pending') = \(redriven))
            ORDER BY seq LIMIT \(limit)
            """)
        var letters: [DeadLetterEntry] = []
        for try await row in rows { letters.append(try Self.view(row)) }
        return try HTTPJSON.response(.ok, DeadLetterPage(deadLetters: letters, nextAfterSeq: letters.count == limit ? letters.last?.seq : nil))
    }

    /// Hands the kept record back to its consumer: the letter's inbox entry is removed and the
    /// record processed as if it had just arrived (the writer's signature checked again, the
    /// handler run in the inbox transaction). A record that fails again is a new letter.
    @Sendable func redrive(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let text = try context.parameters.require("deadLetterId")
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("unknown_dead_letter", "no dead letter \(text.prefix(64))") }
        let shown = id.uuidString.lowercased()
        let operatorID = context.caller?.staffId ?? "unknown"
        // `?outOfOrder=true`: the operator accepts that a superseded record is applied after the
        // later ones, and rebuilds the read model next (the rebuild puts it in its place).
        let outOfOrder = try QueryInput(request).flag("outOfOrder") ?? false
        let (consumerName, inboxID, message) = try await runtime.database.transaction { connection -> (String, String, KafkaMessage) in
            let rows = try await connection.query(
                """
                SELECT consumer, inbox_id, reason, topic, record_partition, record_offset, record_key, record_value, record_headers::text AS record_headers,
                       redriven_at IS NOT NULL AS redriven, coalesce(redrive_outcome, '') AS redrive_outcome,
                       redriven_at > now() - interval '2 minutes' AS recent,
                       EXISTS (SELECT 1 FROM processed_events p WHERE p.consumer = d.consumer AND p.record_key = d.record_key AND p.event_id <> d.inbox_id
                               AND p.outcome = 'processed' AND p.processed_at > d.dead_lettered_at) AS superseded
                FROM dead_letters d WHERE id = \(id) FOR UPDATE OF d
                """, logger: context.logger)
            for try await row in rows {
                let c = NamedColumns(row, table: "dead_letters")
                let (consumer, inboxID, reason, topic): (String, String, String, String) = (
                    try c("consumer"), try c("inbox_id"), try c("reason"), try c("topic")
                )
                let (partition, offset, key): (Int32, Int64, String?) = (try c("record_partition"), try c("record_offset"), try c("record_key"))
                let (value, headers): (ByteBuffer?, String) = (try c("record_value"), try c("record_headers"))
                let (redriven, outcome, recent, superseded): (Bool, String, Bool?, Bool) = (
                    try c("redriven"), try c("redrive_outcome"), try c("recent"), try c("superseded")
                )
                if redriven, outcome != "pending" {
                    throw Problem.conflict("already_redriven", "dead letter \(shown) was redriven already (\(outcome))")
                }
                // A redrive left `pending` (the service stopped half-way) may run again once it is
                // clearly not still running: the inbox lets the record take effect once either way.
                if redriven, recent == true {
                    throw Problem.conflict("redrive_in_progress", "dead letter \(shown) is being redriven (pending); ask again in two minutes")
                }
                // Only a fault of ours, now mended, is worth another run: a rule's refusal stays one,
                // and a forged or malformed record stays forged.
                guard reason == DeadLetter.Reason.processingFailed.rawValue else {
                    throw Problem.conflict("reason_not_redrivable", "dead letter \(shown) is \(reason): only processing_failed letters are redriven")
                }
                guard let value else {
                    throw Problem.conflict("not_redrivable", "the record of dead letter \(shown) was not kept (a partner message: the partner sends it again)")
                }
                // Read models that keep the latest value (a balance) would take this older one over
                // the newer ones already applied: refused; the record's effect needs a rebuild.
                guard !superseded || outOfOrder else {
                    throw Problem.conflict(
                        "superseded",
                        "later events of \(key ?? "its key") were applied after dead letter \(shown); "
                            + "redriving it would apply it out of their order (redrive with ?outOfOrder=true, then rebuild the read model)")
                }
                // A rebuild reading this consumer's inbox would miss an entry that changes under it.
                let rebuilding = try await connection.query(
                    """
                    SELECT 1 FROM read_model_rebuilds WHERE consumer = \(consumer) AND state IN ('running', 'swapping')
                      AND heartbeat_at > now() - make_interval(secs => \(ReadModelRebuild.abandonedAfterSeconds))
                    """, logger: context.logger)
                for try await _ in rebuilding {
                    throw Problem.conflict("rebuild_in_progress", "a read model of \(consumer) is being rebuilt; redrive when it ends")
                }
                guard runtime.consumers.consumer(named: consumer) != nil else {
                    throw Problem.conflict("unknown_consumer", "this service has no consumer \(consumer) any more")
                }
                guard let stored = try? JSONDecoder().decode([DeadLetterStore.StoredHeader].self, from: Data(headers.utf8)) else {
                    throw Problem.conflict("not_redrivable", "the kept headers of dead letter \(shown) do not read")
                }
                try await connection.query(
                    """
                    DELETE FROM processed_events WHERE consumer = \(consumer) AND event_id = \(inboxID) AND outcome LIKE 'dead_lettered:%'
                    """, logger: context.logger)
                try await connection.query(
                    """
                    UPDATE dead_letters SET redriven_at = now(), redriven_by = \(operatorID), redrive_outcome = 'pending' WHERE id = \(id)
                    """, logger: context.logger)
                let message = KafkaMessage(
                    topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) },
                    value: Array(value.readableBytesView), headers: stored.compactMap(\.header))
                return (consumer, inboxID, message)
            }
            throw Problem.notFound("unknown_dead_letter", "no dead letter \(shown)")
        }
        guard let consumer = runtime.consumers.consumer(named: consumerName) else {
            throw Problem.conflict("unknown_consumer", "this service has no consumer \(consumerName) any more")
        }
        let outcome = try await consumer.process(message)
        let name = outcome.name
        try await runtime.database.query("UPDATE dead_letters SET redrive_outcome = \(name) WHERE id = \(id)")
        var again: UUID?
        if outcome == .deadLettered {
            let rows = try await runtime.database.query(
                """
                SELECT id FROM dead_letters WHERE consumer = \(consumerName) AND inbox_id = \(inboxID) AND redriven_at IS NULL
                ORDER BY seq DESC LIMIT 1
                """)
            for try await newID in rows.decode(UUID.self) { again = newID }
        }
        runtime.logger.notice("dead letter redriven", metadata: ["deadLetterId": "\(shown)", "consumer": "\(consumerName)", "outcome": "\(name)"])
        return try HTTPJSON.response(
            .ok,
            DeadLetterRedriveResult(
                id: shown, consumer: consumerName, outcome: name,
                deadLetterId: again?.uuidString.lowercased()))
    }
}
