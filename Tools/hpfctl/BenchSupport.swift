import AsyncHTTPClient
import Foundation
import Policy
import ServiceRuntime

/// What the benchmarks share: enrolling applicants through the running enrolment service, a
/// runtime for the bulk jobs, and the CPU the benchmark process itself has used.
enum BenchSupport {
    /// Enrols `count` new people (resident IDs from a random serial; a taken one is skipped) and
    /// returns their account numbers.
    static func enrol(_ count: Int, http: HTTPClient, enrolmentURL: String) async throws -> [String] {
        var numbers: [String] = []
        var serial = Int.random(in: 0..<1_000_000)
        let bar = ProgressBar("enrol", unit: "accounts")
        defer { bar.finish(Int64(numbers.count), of: Int64(count)) }
        while numbers.count < count {
            bar.update(Int64(numbers.count), of: Int64(count))
            serial += 1
            let (status, json) = try await DepositBenchmark.post(http, "\(enrolmentURL)/v1/enrolments", DepositBenchmark.enrolmentBody(serial: serial))
            if status == 201, let number = json["accountNumber"] as? String {
                numbers.append(number)
            } else if status != 409 {
                throw CommandError("enrolment refused (\(status)): \(json)")
            }
        }
        return numbers
    }

    /// A bulk job's benchmark: a runtime of `descriptor`'s service dated `asOf` (its own schema,
    /// migrated, errors only in the log), for `body` to seed and run the job with.
    static func withJobRuntime(_ descriptor: ServiceDescriptor, asOf: BusinessDate, _ body: (ServiceRuntime) async throws -> Void) async throws {
        var config = ServiceConfig(descriptor: descriptor)
        config.logLevel = "error"
        try await ServiceRuntime(descriptor: descriptor, config: config, clock: BusinessClock(fixedDate: asOf)).whileMigrated(body)
    }

    /// CPU time this process has used so far (user + system), in milliseconds: the load
    /// generator's own share of a benchmark that runs on the same machine as the stack.
    static func processCPUMilliseconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
            let who = __rusage_who_t(RUSAGE_SELF.rawValue)  // an enum in glibc's headers
        #else
            let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        func ms(_ time: timeval) -> Double { Double(time.tv_sec) * 1_000 + Double(time.tv_usec) / 1_000 }
        return ms(usage.ru_utime) + ms(usage.ru_stime)
    }
}
