import Contribution
import Enrolment
import Foundation
import HummingbirdTesting
import ServiceRuntime
import Testing

/// The ledger's invariants under concurrency: every accepted deposit is posted exactly once,
/// postings are numbered without gaps, each balance-after is the running sum, and the balance
/// equals the sum of the postings.
@Suite("Ledger invariants under concurrent deposits")
struct LedgerInvariantTests {
    @Test("40 concurrent deliveries of 20 distinct deposits post each exactly once")
    func concurrentDeposits() async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self)]) { stack in
            let enrol = stack.enrolment, ledger = stack.ledger
            let person = TestStack.newResidentID(birth: "1991-01-01", male: false)
            let account = try #require(try await enrol.post("/v1/enrolments", Bodies.enrolment(idNumber: person)).string("accountNumber"))
            #expect(try await TestStack.eventually { try await ledger.get("/v1/accounts/\(account)/balance").status == 200 })

            let run = TestStack.unique("inv")
            let amounts = (0..<20).map { 11_300 + $0 * 101 }
            // Every deposit is delivered twice, all at once.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, amount) in amounts.enumerated() {
                    for _ in 0..<2 {
                        group.addTask {
                            try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: amount, txn: "\(run)-\(index)")).status
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 20)
            #expect(statuses.filter { $0 == 200 }.count == 20)

            let balance = try await ledger.get("/v1/accounts/\(account)/balance")
            #expect(balance.int("contributedFen") == Int64(amounts.reduce(0, +)))
            // Other postings (a subsidy credited by another test's annual run) may interleave:
            // the invariants hold over all postings.
            let entries = (try await ledger.get("/v1/accounts/\(account)/ledger?limit=500")["entries"] as? [[String: Any]]) ?? []
            #expect(entries.map { ($0["seq"] as? NSNumber)?.int64Value ?? 0 } == Array(1...Int64(entries.count)))
            let contributions = entries.filter { $0["kind"] as? String == "contribution" }
            #expect(contributions.count == 20)
            #expect(contributions.reduce(Int64(0)) { $0 + (($1["amountFen"] as? NSNumber)?.int64Value ?? 0) } == Int64(amounts.reduce(0, +)))
            var running: Int64 = 0
            for entry in entries {
                running += (entry["amountFen"] as? NSNumber)?.int64Value ?? 0
                #expect((entry["balanceAfterFen"] as? NSNumber)?.int64Value == running)
            }
            // The balance is the sum of the postings. (A grant credited between the two reads
            // moves both: read them again until no posting lands in between.)
            var sum = running, current = balance.int("balanceFen")
            #expect(
                try await TestStack.eventually {
                    if sum == current { return true }
                    let all = (try await ledger.get("/v1/accounts/\(account)/ledger?limit=500")["entries"] as? [[String: Any]]) ?? []
                    sum = all.reduce(Int64(0)) { $0 + (($1["amountFen"] as? NSNumber)?.int64Value ?? 0) }
                    current = try await ledger.get("/v1/accounts/\(account)/balance").int("balanceFen")
                    let again = (try await ledger.get("/v1/accounts/\(account)/ledger?limit=500")["entries"] as? [[String: Any]])?.count
                    return again == all.count && sum == current
                }, "balance \(String(describing: current)) = sum of postings \(sum)")
        }
    }
}
