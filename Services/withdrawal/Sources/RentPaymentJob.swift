import Foundation
import Hummingbird
import Policy
import ServiceLifecycle
import ServiceRuntime

/// The monthly rent run (§8): requests every plan's due month. Runs inside the service every
/// hour for the business date of the day, and on demand for staff. Idempotent: a plan has at
/// most one month in flight, and one withdrawal per plan and month (unique index).
struct RentPaymentJob: Sendable {
    let runtime: ServiceRuntime

    struct Summary: Codable, Sendable {
        var asOf: BusinessDate
        var monthsRequested = 0
    }

    func run(asOf: BusinessDate) async throws -> Summary {
        var summary = Summary(asOf: asOf)
        while true {
            let issued = try await runtime.transaction { connection in
                try await RentPlans.issueDue(asOf: asOf, runtime: runtime, connection: connection)
            }
            summary.monthsRequested += issued
            if issued == 0 { return summary }
        }
    }

    struct JobRequest: Decodable { var asOf: BusinessDate }

    /// `POST /v1/jobs/rent-payments {asOf}` (staff); `asOf` may not be in the future.
    @Sendable func runFromHTTP(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(JobRequest.self, from: request)
        guard body.asOf <= runtime.clock.today else {
            throw Problem.rule("as_of_in_future", "asOf \(body.asOf) is after today (\(runtime.clock.today))")
        }
        return try HTTPJSON.response(.ok, try await run(asOf: body.asOf))
    }
}

struct DailyRentPayments: Service {
    let job: RentPaymentJob

    func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await job.runtime.gate.wait() else { return }
            while !Task.isCancelled {
                do {
                    let summary = try await job.run(asOf: job.runtime.clock.today)
                    if summary.monthsRequested > 0 {
                        job.runtime.logger.info("rent payments requested", metadata: ["asOf": "\(summary.asOf)", "months": "\(summary.monthsRequested)"])
                    }
                } catch {
                    job.runtime.logger.warning("rent payment run failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
