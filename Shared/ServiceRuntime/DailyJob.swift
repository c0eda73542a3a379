import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceLifecycle

/// A job that works for a business date (the annual subsidy, rent payments, overdue checks). It
/// runs inside the service at start and then every hour for the day's date — the jobs are
/// idempotent, so the repeat only catches up what a failure left — and on demand for staff.
/// With several instances of the service, one at a time runs a scheduled round (`exclusively`);
/// the others skip it.
public struct DailyJob<Summary: Encodable & Sendable>: Service {
    let name: String
    let runtime: ServiceRuntime
    let work: @Sendable (BusinessDate) async throws -> Summary
    let didWork: @Sendable (Summary) -> Bool

    /// `didWork` says whether a run is worth a log line.
    public init(
        _ name: String, runtime: ServiceRuntime, didWork: @escaping @Sendable (Summary) -> Bool,
        work: @escaping @Sendable (BusinessDate) async throws -> Summary
    ) {
        self.name = name
        self.runtime = runtime
        self.work = work
        self.didWork = didWork
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await runtime.gate.wait() else { return }
            while !Task.isCancelled {
                let today = runtime.clock.today
                var next = Self.interval
                do {
                    let ran = try await Self.exclusively(name, runtime: runtime) {
                        let summary = try await work(today)
                        if didWork(summary) { runtime.logger.info("\(name) ran", metadata: ["asOf": "\(today)"]) }
                    }
                    // Only a round this instance ran counts: an instance that skips behind a stuck
                    // one must not report the job as running (the dashboard takes the latest).
                    if ran {
                        HPFMetrics.jobLastSuccess(service: runtime.descriptor.name, job: name).set(Date().timeIntervalSince1970)
                    } else {
                        runtime.logger.debug("\(name) skipped: another instance runs it", metadata: ["asOf": "\(today)"])
                    }
                } catch {
                    // The database away: try again soon rather than in an hour.
                    if DatabaseErrors.isTransient(error) { next = Self.retryAfterOutage }
                    runtime.logger.warning(
                        "\(name) failed; will retry",
                        metadata: [
                            "error": "\(String(reflecting: error))", "retryInSeconds": "\(next.components.seconds)",
                        ])
                }
                try? await Task.sleep(for: next)
            }
        }
    }

    /// Runs `body` unless another instance of the service is running job `name`; false when one
    /// is. The lock is a session advisory lock (per schema and job) on a session of its own,
    /// outside the pool (`application_name` `hpf-job:<job>`), closed when the run ends: Postgres
    /// lets the lock go with the session however the run ends, a crash or a lost connection
    /// included, so no instance keeps it by accident, and the work's own transactions keep the
    /// whole pool (a pooled lock connection could starve a small pool's work). The jobs are
    /// idempotent, so this saves repeated work; it does not guard correctness.
    public static func exclusively(_ name: String, runtime: ServiceRuntime, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        let key = "hpf-job:\(runtime.descriptor.schema):\(name)"
        // (Its connect gives up after 5 s, as the relay's does.)
        let session = try await runtime.database.openSession(named: "hpf-job:\(name)")
        do {
            var held = false
            for try await answer in try await session.query("SELECT pg_try_advisory_lock(hashtext(\(key)))", logger: runtime.logger)
                .decode(Bool.self)
            { held = answer }
            if held { try await body() }
            try? await session.close()
            return held
        } catch {
            try? await session.close()
            throw error
        }
    }

    static var interval: Duration { .seconds(3600) }
    static var retryAfterOutage: Duration { .seconds(15) }

    struct JobRequest: Decodable { var asOf: BusinessDate }

    /// The staff route: `POST {asOf}`; `asOf` may not be in the future.
    public var onDemand: @Sendable (Request, HPFRequestContext) async throws -> Response {
        { [runtime, work] request, _ in
            let body = try await HTTPJSON.decode(JobRequest.self, from: request)
            try runtime.refuseFuture(asOf: body.asOf)
            return try HTTPJSON.response(.ok, try await work(body.asOf))
        }
    }
}

public extension ServiceRuntime {
    /// A staff run's `asOf` may not be after the business date (422 `as_of_in_future`).
    func refuseFuture(asOf: BusinessDate) throws {
        guard asOf <= clock.today else {
            throw Problem.rule("as_of_in_future", "asOf \(asOf) is after today (\(clock.today))")
        }
    }

    /// The outbox row `DatabaseContext.emit` would write, for a statement that writes it with its business row
    /// (`Outbox.insertSQL(from:)`, `Outbox.Row.appendBindings`); the caller counts it with `Outbox.wrote(1)` once written.
    func outboxRow<P: Codable & Sendable>(_ type: EventType, _ data: P, account: String) throws -> Outbox.Row {
        // Time-ordered ids: the outbox's key index grows at its right edge.
        let event = CloudEvent(id: .timeOrdered(), source: descriptor.eventSource, type: type.rawValue, subject: account, data: data)
        return try Outbox.Row(event, topic: type.topic.name)
    }
}
