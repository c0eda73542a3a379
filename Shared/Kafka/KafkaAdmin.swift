import CRdkafka

/// A topic to create: the suite pre-creates every topic because the dev broker does not
/// auto-create them reliably.
public struct TopicSpec: Sendable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    /// Topic configuration entries (e.g. `retention.ms`), applied when the topic is created.
    public var configs: [String: String]
    public init(name: String, partitions: Int32 = 3, replicationFactor: Int32 = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

enum KafkaAdmin {
    static func createTopics(client: KafkaClient, topics: [TopicSpec], timeoutMs: Int32) async throws {
        let failure: KafkaError? = await client.blocking(ifClosed: .clientClosed) { rk in
            var errstr = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for spec in topics {
                guard let topic = rd_kafka_NewTopic_new(spec.name, spec.partitions, spec.replicationFactor, &errstr, errstr.count) else {
                    return KafkaError(.admin, message: "\(spec.name): \(String(cString: errstr))")
                }
                newTopics.append(topic)
                for (key, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                    let err = rd_kafka_NewTopic_set_config(topic, key, value)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { return KafkaError(.admin, message: "\(spec.name): config \(key) refused") }
                }
            }
            let queue = rd_kafka_queue_new(rk)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errstr, errstr.count)
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(rk, buffer.baseAddress, buffer.count, options, queue)
            }
            guard let event = rd_kafka_queue_poll(queue, timeoutMs + 5_000) else {
                return KafkaError(.admin, message: "CreateTopics timed out")
            }
            defer { rd_kafka_event_destroy(event) }
            let eventErr = rd_kafka_event_error(event)
            if eventErr != RD_KAFKA_RESP_ERR_NO_ERROR { return KafkaError(.admin, eventErr) }
            guard let result = rd_kafka_event_CreateTopics_result(event) else {
                return KafkaError(.admin, message: "unexpected admin event")
            }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return nil }
            for index in 0..<count {
                let err = rd_kafka_topic_result_error(results[index])
                if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                    let name = String(cString: rd_kafka_topic_result_name(results[index]))
                    let message = rd_kafka_topic_result_error_string(results[index]).map { String(cString: $0) } ?? ""
                    return KafkaError(.admin, code: err.rawValue, message: "\(name): \(message)")
                }
            }
            return nil
        }
        if let failure { throw failure }
    }
}
