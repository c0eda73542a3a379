import CRdkafka
import Logging

/// librdkafka's built-in mock cluster, for the wrapper's own unit tests: real protocol, no
/// broker process. Not for services.
public final class KafkaMockCluster: @unchecked Sendable {
    private let owner: KafkaClient
    private let cluster: OpaquePointer
    public let bootstrapServers: String

    public init(brokers: Int32 = 1, logger: Logger = Logger(label: "kafka.mock")) throws {
        owner = try KafkaClient(type: RD_KAFKA_PRODUCER, configuration: KafkaConfiguration(["client.id": "mock-owner"]), logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(owner.handle, brokers) else {
            owner.destroy()
            throw KafkaError(.clientCreation, message: "could not create the mock cluster")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    public func createTopic(_ name: String, partitions: Int32) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(.admin, err) }
    }

    /// Takes a broker down (or back up) to exercise failure paths.
    public func setBrokerDown(_ brokerID: Int32, _ down: Bool) {
        if down { rd_kafka_mock_broker_set_down(cluster, brokerID) } else { rd_kafka_mock_broker_set_up(cluster, brokerID) }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        owner.destroy()
    }
}
