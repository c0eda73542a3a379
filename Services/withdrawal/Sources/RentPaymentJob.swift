import Foundation
import Policy
import ServiceRuntime

/// The monthly rent run (§8): requests every plan's due month. A `DailyJob` (hourly in the
/// service, and on demand for staff). Idempotent: a plan has at most one month in flight, and one
/// withdrawal per plan and month (unique index).
struct RentPaymentJob: Sendable {
    let runtime: ServiceRuntime

    struct Summary: Codable, Sendable {
        var asOf: BusinessDate
        var monthsRequested = 0
    }

    func run(asOf: BusinessDate) async throws -> Summary {
        var summary = Summary(asOf: asOf)
        while true {
            let issued = try await runtime.transaction { db in
                try await RentPlans.issueDue(asOf: asOf, in: db)
            }
            summary.monthsRequested += issued
            if issued == 0 { return summary }
        }
    }
}
