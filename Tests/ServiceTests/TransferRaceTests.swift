import Contracts
import Foundation
import PartnerCity
import Policy
import PostgresNIO
import RegionalSync
import ServiceRuntime
import Testing

extension TransferTests {
    /// §17: a partner that took the money before it saw our cancel is told to give it back
    /// (`transfer-failed`). The transfer-out data and the applicant's cancel can meet: the data's
    /// handler must read the transfer under its row lock, or it decides on the state from before
    /// the cancel committed and drops the data without a word (the partner keeps the money).
    @Test("transfer-out data arriving while the applicant's cancel commits: the partner is told to give the money back")
    func dataMeetsCancel() async throws {
        try await withServices { s in
            let (account, id) = try await Self.person(s)
            // Jining holds the letter (01) until the test sends the data itself.
            try await Self.withPartner("370800", s.regional, answer: { _ in .hold }) { partner in
                let started = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "370800"))
                let transfer = try #require(started.string("transferId").flatMap(UUID.init(uuidString:)), "\(started.text)")
                let letter = try #require(started.string("letterNumber"))
                try await TestStack.withDatabase(of: RegionalSyncService.descriptor) { database in
                    // The cancel in flight: the transfer row moved to 05 and locked until it commits.
                    try await database.transaction { connection in
                        try await connection.query(
                            "UPDATE transfers SET state = '05', updated_at = now() WHERE transfer_id = \(transfer) AND state = '01'",
                            logger: TestStack.logger)
                        var ours: Int32 = 0
                        for try await pid in try await connection.query("SELECT pg_backend_pid()", logger: TestStack.logger).decode(Int32.self) {
                            ours = pid
                        }
                        let data = TransferOutData(
                            letterNumber: letter, receivingCity: "320700", sendingCity: "370800", sendingAccountNumber: "3708001",
                            principalFen: 100_000, interestFen: 400, amountFen: 100_400, openedMonth: YearMonth("2024-01")!,
                            paidUpToMonth: YearMonth("2026-02")!, lastSixMonthsContinuous: true,
                            contributionMonths: [YearMonth("2026-01")!, YearMonth("2026-02")!], hadHpfLoan: false,
                            hasUnsettledHpfLoan: false, sentOn: TestStack.today)
                        try await partner.send(.transferOutData, data, from: .development("370800"), subject: "3708001")
                        // The partner feed's consumer is now waiting for this transaction's row lock.
                        #expect(
                            try await TestStack.eventually {
                                var blocked = false
                                for try await _ in try await database.query("SELECT 1 FROM pg_stat_activity WHERE \(ours) = ANY(pg_blocking_pids(pid))") {
                                    blocked = true
                                }
                                return blocked
                            })
                    }
                }
                #expect(
                    try await TestStack.eventually { partner.types(letter: letter).contains(EventType.transferFailed.rawValue) },
                    "the partner hears transfer-failed for the data it sent after the cancel")
                let view = try await s.regional.get("/v1/transfers/\(transfer.uuidString.lowercased())")
                #expect(view.string("state") == "05")
            }
        }
    }
}
