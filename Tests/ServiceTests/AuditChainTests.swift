import Contribution
import Foundation
import ServiceRuntime
import Testing

/// The audit trail's chain with several writers on one schema (instances of a service behind a
/// load balancer): every record must land once, in one unbroken chain.
@Suite("Audit chain with several writers")
struct AuditChainTests {
    @Test("three instances appending at once keep one unbroken chain with every record once")
    func concurrentWriters() async throws {
        let module = InterestTests.LedgerRoutesOnly.self
        let instances = try (0..<3).map { try StackService(module, name: "instance-\($0)") }
        try await TestStack.withServices(instances) { stack in
            let (first, second, third) = (stack["instance-0"], stack["instance-1"], stack["instance-2"])
            let auditor = TestIdentity.staff([.auditor], id: "auditor-chain")
            let before = try #require(try await first.get("/v1/audit/verification", as: auditor).int("records"))
            let run = TestStack.unique("chain")
            let officer = TestIdentity.staff([.fundOfficer], id: "officer-chain")
            // An officer's look at an account is audited, found or not: 30 requests on each instance at once.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for (instance, client) in [first, second, third].enumerated() {
                    for n in 0..<30 {
                        group.addTask {
                            try await client.send(
                                .get, "/v1/accounts/3207\(String(format: "%012d", n))/balance", as: officer,
                                headers: ["x-request-id": "\(run)-\(instance)-\(n)"]
                            ).status
                        }
                    }
                }
                for try await status in group { #expect(status == 404 || status == 200) }
            }
            var ours: [String: Int64] = [:]
            var after = Int64(before)
            while true {
                let page = try await second.get("/v1/audit?afterSeq=\(after)&limit=1000", as: auditor)
                let records = page["records"] as? [[String: Any]] ?? []
                for record in records {
                    guard let entry = record["entry"] as? [String: Any], let id = entry["requestId"] as? String, id.hasPrefix(run),
                        let seq = (record["seq"] as? NSNumber)?.int64Value
                    else { continue }
                    #expect(ours[id] == nil, "record \(id) written twice")
                    ours[id] = seq
                }
                guard let last = (records.last?["seq"] as? NSNumber)?.int64Value, records.count == 1000 else { break }
                after = last
            }
            #expect(ours.count == 90, "every request's record, once")
            #expect(Set(ours.values).count == ours.count)
            let verification = try await third.get("/v1/audit/verification", as: auditor)
            #expect(verification.json["verified"] as? Bool == true, "\(verification.text)")
        }
    }
}
