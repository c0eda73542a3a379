import CRdkafka

/// librdkafka properties for one client. The factory methods hold the suite's defaults:
/// idempotent producers, consumers that store offsets only after processing.
public struct KafkaConfiguration: Sendable {
    public var properties: [String: String]

    public init(_ properties: [String: String] = [:]) { self.properties = properties }

    public static func producer(brokers: String, clientID: String) -> KafkaConfiguration {
        KafkaConfiguration([
            "bootstrap.servers": brokers,
            "client.id": clientID,
            "enable.idempotence": "true",
            "acks": "all",
            "linger.ms": "2",
            // Bounded memory: librdkafka refuses new messages (QUEUE_FULL) past these,
            // and the producer waits instead of buffering without limit.
            "queue.buffering.max.messages": "100000",
            "queue.buffering.max.kbytes": "65536",
            // A message waits up to five minutes for a broker that is away. (A timed-out message
            // makes the idempotent producer bump its epoch; the dev broker answers that with a
            // fencing error for good, so the limit is set past the outages the suite rides out.)
            // The outbox relay does not wait that long: its round has its own deadline.
            "message.timeout.ms": "300000",
        ])
    }

    public static func consumer(brokers: String, groupID: String, clientID: String) -> KafkaConfiguration {
        KafkaConfiguration([
            "bootstrap.servers": brokers,
            "client.id": clientID,
            "group.id": groupID,
            "enable.auto.commit": "true",
            "auto.commit.interval.ms": "500",
            // Offsets are stored by us after the database commit, never automatically on delivery.
            "enable.auto.offset.store": "false",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "1000",
            // Bounded memory for prefetching.
            "queued.max.messages.kbytes": "16384",
            "enable.partition.eof": "false",
        ])
    }

    public func with(_ key: String, _ value: String) -> KafkaConfiguration {
        var copy = self
        copy.properties[key] = value
        return copy
    }

    /// Builds the librdkafka configuration object; the caller owns the result.
    func makeNative() throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(.configuration, message: "rd_kafka_conf_new failed")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(.configuration, message: "\(key): \(String(cString: errstr))")
            }
        }
        return conf
    }
}
