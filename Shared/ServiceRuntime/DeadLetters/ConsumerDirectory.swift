import Synchronization

/// The process's event consumers by name, for the operator's redrive: a dead letter names the
/// consumer that refused it, and a redrive hands the kept record back to that consumer.
public final class ConsumerDirectory: Sendable {
    private let consumers = Mutex<[String: EventConsumerService]>([:])

    public init() {}

    func register(_ consumer: EventConsumerService) {
        consumers.withLock { $0[consumer.subscription.consumerName] = consumer }
    }

    func consumer(named name: String) -> EventConsumerService? { consumers.withLock { $0[name] } }
}
