import Synchronization

/// The pending result of one produced message; completed by librdkafka's delivery-report callback.
final class DeliveryFuture: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<DeliveryReport, any Error>)
        case done(Result<DeliveryReport, KafkaError>)
    }
    private let state = Mutex<State>(.pending)

    func complete(_ result: Result<DeliveryReport, KafkaError>) {
        let waiter: CheckedContinuation<DeliveryReport, any Error>? = state.withLock { state in
            if case .waiting(let continuation) = state {
                state = .done(result)
                return continuation
            }
            state = .done(result)
            return nil
        }
        waiter?.resume(with: result.mapError { $0 as any Error })
    }

    var value: DeliveryReport {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<DeliveryReport, KafkaError>? = state.withLock { state in
                    if case .done(let result) = state { return result }
                    state = .waiting(continuation)
                    return nil
                }
                if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
            }
        }
    }

    var result: Result<DeliveryReport, KafkaError> {
        get async {
            do { return .success(try await value) } catch let error as KafkaError { return .failure(error) } catch {
                return .failure(KafkaError(.delivery, message: "\(error)"))
            }
        }
    }
}
