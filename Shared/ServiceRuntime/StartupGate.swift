/// Opens once the schema is migrated and the topics exist; background services (relay,
/// consumers) wait on it so they never touch tables before they are there. Waiting ends early
/// when the waiting task is cancelled (a start-up that failed must still shut down).
public actor StartupGate {
    private var isOpen = false
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextID = 0

    public init() {}

    public func open() {
        isOpen = true
        for waiter in waiters.values { waiter.resume() }
        waiters.removeAll()
    }

    /// Returns true once the gate is open, false if the task was cancelled first.
    @discardableResult
    public func wait() async -> Bool {
        if isOpen { return true }
        let id = nextID
        nextID += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if isOpen || Task.isCancelled { continuation.resume() } else { waiters[id] = continuation }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
        return isOpen
    }

    private func cancel(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }
}
