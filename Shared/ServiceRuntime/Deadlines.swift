import Synchronization

/// Work that did not finish within its limit (`withTimeout`, `withDeadline`).
public struct TimeoutError: Error {}

/// Runs `body`, giving up after `seconds`.
public func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimeoutError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Runs `body`, giving up after `seconds` without waiting for it (unlike `withTimeout`, whose
/// task group waits for its child): work stuck on a socket that ignores cancellation, such as a
/// query to a server that stopped answering, is cancelled and left to end on its own. For
/// probes and rounds whose result is no longer wanted once late.
public func withDeadline<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let work = Task { try await body() }
    let answer = ResumeOnce<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            answer.wait(continuation)
            let timer = Task {
                try await Task.sleep(for: .seconds(seconds))
                work.cancel()
                answer.resume(.failure(TimeoutError()))
            }
            Task {
                let result = await work.result
                timer.cancel()
                answer.resume(result)
            }
        }
    } onCancel: {
        // The caller stops waiting at once (a stopping service, say).
        work.cancel()
        answer.resume(.failure(CancellationError()))
    }
}

/// A continuation resumed by whichever result comes first (even one that comes before the
/// continuation is there); later ones are dropped.
final class ResumeOnce<T: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<T, any Error>)
        case early(Result<T, any Error>)
        case resumed
    }
    private let state = Mutex(State.idle)

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { state in
            if case .early(let result) = state {
                state = .resumed
                return result
            }
            state = .waiting(continuation)
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { state in
            switch state {
            case .idle:
                state = .early(result)
                return nil
            case .waiting(let continuation):
                state = .resumed
                return continuation
            case .early, .resumed:
                return nil
            }
        }
        waiter?.resume(with: result)
    }
}
