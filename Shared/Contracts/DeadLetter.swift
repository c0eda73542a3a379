import Foundation

/// `hpf.deadletter.event-rejected.v1` on `hpf.deadletter.v1`: an event a consumer could not
/// process, kept whole with the reason so that nothing is lost and the partition moves on.
public struct DeadLetter: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        case malformedEvent = "malformed_event"  // not JSON, or not a CloudEvents 1.0 envelope
        case unknownEventType = "unknown_event_type"  // a type no catalogue entry names
        case invalidPayload = "invalid_payload"  // the data does not decode as its type says
        case ruleViolation = "rule_violation"  // a business rule refused it
        case unverified = "unverified"  // a partner message whose signature, key or timestamp does not check out
        case duplicateEvent = "duplicate_event"  // an id already seen, where repeats must be refused (partner feed)
        /// An unexpected failure that outlasted its retries (a fault of ours, not of the event):
        /// kept so that an operator can redrive it once the cause is mended.
        case processingFailed = "processing_failed"
    }
    public var consumer: String
    public var reason: Reason
    public var detail: String
    public var originalTopic: String
    public var originalPartition: Int32
    public var originalOffset: Int64
    public var originalKey: String?
    /// The original record value, as UTF-8 text when it is valid UTF-8, otherwise base64.
    public var originalValue: String
    public var originalValueEncoding: String

    public init(
        consumer: String, reason: Reason, detail: String, originalTopic: String, originalPartition: Int32,
        originalOffset: Int64, originalKey: String?, originalValue: [UInt8]
    ) {
        self.consumer = consumer
        self.reason = reason
        self.detail = detail
        self.originalTopic = originalTopic
        self.originalPartition = originalPartition
        self.originalOffset = originalOffset
        self.originalKey = originalKey
        if let text = String(validating: originalValue, as: UTF8.self) {
            self.originalValue = text
            self.originalValueEncoding = "utf-8"
        } else {
            self.originalValue = Data(originalValue).base64EncodedString()
            self.originalValueEncoding = "base64"
        }
    }
}
