import AsyncHTTPClient
import Foundation

/// What the benchmarks share: enrolling applicants through the running enrolment service.
enum BenchSupport {
    /// Enrols `count` new people (resident IDs from a random serial; a taken one is skipped) and
    /// returns their account numbers.
    static func enrol(_ count: Int, http: HTTPClient, enrolmentURL: String) async throws -> [String] {
        var numbers: [String] = []
        var serial = Int.random(in: 0..<1_000_000)
        while numbers.count < count {
            serial += 1
            let (status, json) = try await DepositBenchmark.post(http, "\(enrolmentURL)/v1/enrolments", DepositBenchmark.enrolmentBody(serial: serial))
            if status == 201, let number = json["accountNumber"] as? String { numbers.append(number) }
            else if status != 409 { throw CommandError("enrolment refused (\(status)): \(json)") }
        }
        return numbers
    }
}
