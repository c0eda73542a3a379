import CRdkafka

/// A typed error from the Kafka layer, carrying librdkafka's error code where there is one.
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case configuration, clientCreation, produce, delivery, consume, offsetStore, admin, metadata, closed
    }
    public let kind: Kind
    public let code: Int32
    public let message: String

    public init(_ kind: Kind, code: Int32 = 0, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    init(_ kind: Kind, _ err: rd_kafka_resp_err_t) {
        self.init(kind, code: err.rawValue, message: String(cString: rd_kafka_err2str(err)))
    }

    /// A call on a client that was closed (or is closing): its handle is gone.
    public static let clientClosed = KafkaError(.closed, message: "the Kafka client is closed")

    /// A send its producer purged while stopping (`KafkaProducer.shutdown`): not refused by the
    /// broker, just not sent (or not confirmed) before the stop. A later publisher sends it again.
    public var isPurgedAtStop: Bool {
        kind == .delivery
            && (code == RD_KAFKA_RESP_ERR__PURGE_QUEUE.rawValue || code == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT.rawValue)
    }

    public var description: String { "kafka \(kind.rawValue) error \(code): \(message)" }
}
