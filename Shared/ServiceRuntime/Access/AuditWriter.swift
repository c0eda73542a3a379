/// Group commit for the audit trail: requests that finish while a batch is being written wait
/// for the next batch, which takes them all at once. Each request still waits until its record
/// is committed, but the chain's head is locked once per batch instead of once per request (one
/// lock and one commit per request made every service's writes queue behind the audit trail).
final class AuditWriter: Sendable {
    private let groups: GroupCommit<AuditTrail.Entry, Void>
    /// At most this many records per transaction.
    static let batchLimit = 500
    /// How long one batch may take before its requests are told the record was not written (the
    /// append's statements are bounded by the same deadline, `AuditTrail.append`): every group's
    /// bound, under the 30 s that HTTP clients such as hpfctl wait for an answer.
    static let timeoutSeconds = GroupWork.deadlineSeconds

    init(trail: AuditTrail) {
        // One batch at a time: the chain's head is one row, so a second batch would only wait for it.
        groups = GroupCommit(limit: Self.batchLimit) { entries in
            do {
                // Bounded: a database that does not answer (or a pool already shut down) fails the
                // batch after a while instead of holding every later request behind it. A deadline,
                // not `withTimeout`: that one waits for its child, and a child stuck where
                // cancellation does not reach (a query on a silent socket, a connection lease that is
                // never granted) held every audited request of the service for ever (full test runs
                // on a loaded machine sat idle, the requests waiting for their records).
                let deadline = ContinuousClock.now + .seconds(Self.timeoutSeconds)
                try await withDeadline(seconds: Self.timeoutSeconds) { try await trail.append(entries, deadline: deadline) }
                return entries.map { _ in .success(()) }
            } catch {
                return entries.map { _ in .failure(error) }
            }
        }
    }

    func append(_ entry: AuditTrail.Entry) async throws {
        try await groups.submit(entry)
    }
}
