import Contracts
import Foundation
import Kafka
import Logging
import PostgresNIO

/// The service's own record of what its consumers dead-lettered, beside the copy on the
/// dead-letter topic: the reason for operators, and the original record (value and headers,
/// exactly as consumed) so that it can be redriven through the inbox once the cause is mended.
/// Records of the partner feed are not kept (they may hold a resident ID number): those letters
/// are listed but cannot be redriven; the partner sends again.
public enum DeadLetterStore {
    static let migration = Migration(
        10_003, "dead letters",
        """
        CREATE TABLE IF NOT EXISTS dead_letters (
            id uuid PRIMARY KEY,
            seq bigserial NOT NULL UNIQUE,
            consumer text NOT NULL,
            reason text NOT NULL,
            detail text NOT NULL,
            inbox_id text NOT NULL,
            event_id text,
            event_type text,
            topic text NOT NULL,
            record_partition int NOT NULL,
            record_offset bigint NOT NULL,
            record_key text,
            record_value bytea,
            record_headers jsonb NOT NULL DEFAULT '[]',
            dead_lettered_at timestamptz NOT NULL DEFAULT now(),
            redriven_at timestamptz,
            redriven_by text,
            redrive_outcome text
        );
        """)

    /// The record key beside each inbox entry: a redrive must know whether later events of the
    /// same key were applied after its letter (their order would be broken).
    static let inboxKeys = Migration(
        10_004, "inbox record keys",
        """
        ALTER TABLE processed_events ADD COLUMN IF NOT EXISTS record_key text;
        CREATE INDEX IF NOT EXISTS dead_letters_by_inbox ON dead_letters (consumer, inbox_id);
        """)

    /// Text Postgres will store, bounded: a NUL (which Postgres refuses in text) is dropped, so a
    /// hostile record cannot keep its own letter from being written.
    static func storable(_ text: String?, limit: Int = 2_000) -> String? {
        text.map { String($0.replacingOccurrences(of: "\u{0}", with: "").prefix(limit)) }
    }

    /// What is kept of one dead-lettered record.
    struct Entry: Sendable {
        var id: UUID
        var letter: DeadLetter
        /// The key it was recorded under in `processed_events` (the event id, or the record's position).
        var inboxID: String
        var eventID: String?
        var eventType: String?
        /// The record as consumed, or nil where it may not be kept.
        var record: KafkaMessage?
    }

    /// Records a letter in the transaction that writes it to the outbox.
    static func record(_ entry: Entry, on connection: PostgresConnection, logger: Logger) async throws {
        let letter = entry.letter
        let value = entry.record.map { ByteBuffer(bytes: $0.value) }
        let headers = String(decoding: try JSONEncoder().encode((entry.record?.headers ?? []).map(StoredHeader.init)), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO dead_letters (id, consumer, reason, detail, inbox_id, event_id, event_type, topic, record_partition,
                                      record_offset, record_key, record_value, record_headers)
            VALUES (\(entry.id), \(letter.consumer), \(letter.reason.rawValue), \(storable(letter.detail) ?? ""), \(storable(entry.inboxID, limit: 500) ?? ""),
                    \(storable(entry.eventID, limit: 500)), \(storable(entry.eventType, limit: 500)), \(letter.originalTopic),
                    \(Int(letter.originalPartition)), \(letter.originalOffset), \(storable(letter.originalKey, limit: 500)), \(value), \(headers)::jsonb)
            """, logger: logger)
    }

    /// A header kept as text: its name and its bytes in base64 (a signature header is binary-safe text, but need not be).
    struct StoredHeader: Codable {
        var name: String
        var value: String
        init(_ header: KafkaHeader) {
            name = header.name
            value = Data(header.value).base64EncodedString()
        }
        var header: KafkaHeader? { Data(base64Encoded: value).map { KafkaHeader(name: name, bytes: Array($0)) } }
    }
}
