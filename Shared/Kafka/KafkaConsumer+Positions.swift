import CRdkafka

/// One partition of one topic.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public var description: String { "\(topic)/\(partition)" }
}

/// Where partitions stand, asked of the broker: what a replay needs to know where the topics end
/// and how far a group has got.
extension KafkaConsumer {
    /// Every partition of `topics`, with its low and high watermark (the first offset kept and the
    /// offset the next record will get), asked of the broker now (not librdkafka's cache). A topic
    /// the broker does not have (not created yet) has no partitions: nothing to read.
    public func watermarks(of topics: [String], timeoutMs: Int32 = 10_000) async throws -> [TopicPartition: ClosedRange<Int64>] {
        let outcome: Result<[TopicPartition: ClosedRange<Int64>], KafkaError> = await client.blocking(ifClosed: .failure(.clientClosed)) { rk in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(rk, 1, nil, &metadata, timeoutMs)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return .failure(KafkaError(.metadata, err)) }
            defer { rd_kafka_metadata_destroy(metadata) }
            var partitions: [TopicPartition] = []
            for t in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[t]
                let name = String(cString: topic.topic)
                guard topics.contains(name), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                for p in 0..<Int(topic.partition_cnt) { partitions.append(TopicPartition(topic: name, partition: topic.partitions[p].id)) }
            }
            var ends: [TopicPartition: ClosedRange<Int64>] = [:]
            for partition in partitions {
                var low: Int64 = 0, high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(rk, partition.topic, partition.partition, &low, &high, timeoutMs)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return .failure(KafkaError(.metadata, err)) }
                ends[partition] = min(low, high)...high
            }
            return .success(ends)
        }
        return try outcome.get()
    }

    /// The offsets this client's group (its `group.id`) has committed for `partitions`: the next
    /// offset the group will read, or nil where it has committed nothing. Asking does not join the
    /// group, so a second handle with another consumer's group id can read that consumer's place.
    public func committedOffsets(_ partitions: [TopicPartition], timeoutMs: Int32 = 10_000) async throws -> [TopicPartition: Int64] {
        let outcome: Result<[TopicPartition: Int64], KafkaError> = await client.blocking(ifClosed: .failure(.clientClosed)) { rk in
            let list = Self.list(partitions, offset: Int64(RD_KAFKA_OFFSET_INVALID))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_committed(rk, list, timeoutMs)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return .failure(KafkaError(.metadata, err)) }
            var offsets: [TopicPartition: Int64] = [:]
            for i in 0..<Int(list.pointee.cnt) {
                let entry = list.pointee.elems[i]
                if entry.offset >= 0 { offsets[TopicPartition(topic: String(cString: entry.topic), partition: entry.partition)] = entry.offset }
            }
            return .success(offsets)
        }
        return try outcome.get()
    }

    /// Stops fetching `partitions` (what was fetched already may still be polled), or starts again.
    public func pause(_ partitions: [TopicPartition]) { setPaused(partitions, true) }
    public func resume(_ partitions: [TopicPartition]) { setPaused(partitions, false) }

    private func setPaused(_ partitions: [TopicPartition], _ paused: Bool) {
        guard !partitions.isEmpty else { return }
        let list = Self.list(partitions, offset: Int64(RD_KAFKA_OFFSET_INVALID))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = client.withHandle { paused ? rd_kafka_pause_partitions($0, list) : rd_kafka_resume_partitions($0, list) }
    }

    static func list(_ partitions: [TopicPartition], offset: Int64) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))!
        for partition in partitions {
            let entry = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
            entry?.pointee.offset = offset
        }
        return list
    }
}
