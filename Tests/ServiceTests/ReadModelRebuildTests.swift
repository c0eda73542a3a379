import Contribution
import Enrolment
import Foundation
import HummingbirdTesting
import Loan
import PostgresNIO
import ServiceRuntime
import Testing

/// A read model rebuilt from its topics (`hpfctl rebuild`): drift of every kind is mended, each
/// event counts once while deposits go on during the rebuild, the tables keep their triggers
/// (the fund pool's totals follow), and only an operator may start one.
@Suite("Read models: rebuilt from the topics and swapped in", .serialized)
struct ReadModelRebuildTests {
    static let operatorIdentity = TestIdentity.staff([.systemOperator], id: "operator-test")

    func withServices(_ body: @escaping @Sendable (JSONClient, JSONClient, JSONClient, Int) async throws -> Void) async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self), .init(LoanService.self)]) {
            try await body($0.enrolment, $0.ledger, $0.loan, try #require($0.loan.client.port))
        }
    }

    struct LedgerRow: Equatable {
        var contributedFen: Int64
        var balanceFen: Int64
        var months: Int64
    }

    /// The loan service's ledger read model for one account (nil when it has no row).
    func ledgerRow(_ account: String) async throws -> LedgerRow? {
        try await TestStack.withDatabase(of: LoanService.descriptor) { database in
            let rows = try await database.query(
                """
                SELECT contributed_fen, balance_fen, (SELECT count(*) FROM contribution_months m WHERE m.account_number = l.account_number)
                FROM ledger_accounts l WHERE account_number = \(account)
                """)
            for try await (contributed, balance, months) in rows.decode((Int64, Int64, Int64).self) {
                return LedgerRow(contributedFen: contributed, balanceFen: balance, months: months)
            }
            return nil
        }
    }

    func enrol(_ enrolment: JSONClient, _ ledger: JSONClient, birth: String) async throws -> String {
        try await TestStack.enrol(enrolment, ledger, Bodies.enrolment(idNumber: TestStack.newResidentID(birth: birth, male: true)))
    }

    /// A channel deposit on the test day (the month the account opened).
    func deposit(_ ledger: JSONClient, _ account: String, _ amountFen: Int) async throws {
        let paid = try await ledger.post("/v1/contributions", Bodies.contribution(account: account, amountFen: amountFen, txn: TestStack.unique("wx")))
        #expect(paid.status == 201, "\(paid.text)")
    }

    /// Waits until the loan service's row for `account` agrees with the ledger's balance and has
    /// `contributedFen`.
    func settled(_ ledger: JSONClient, _ account: String, contributedFen: Int64) async throws -> LedgerRow? {
        var row: LedgerRow?
        _ = try await TestStack.eventually {
            let balance = try await ledger.get("/v1/accounts/\(account)/balance").int("balanceFen")
            row = try await ledgerRow(account)
            return row?.contributedFen == contributedFen && row?.balanceFen == balance
        }
        return row
    }

    @Test("hpfctl rebuild loan ledger: drift mended, every event once while deposits go on, the pool totals kept, an operator only")
    func rebuildLedger() async throws {
        try await withServices { enrolment, ledger, loan, loanPort in
            let drifted = try await enrol(enrolment, ledger, birth: "1991-02-03")
            let busy = try await enrol(enrolment, ledger, birth: "1991-02-04")
            try await deposit(ledger, drifted, 30_000)
            try await deposit(ledger, drifted, 20_000)
            let truth = try #require(try await settled(ledger, drifted, contributedFen: 50_000), "the loan service learns of both deposits")
            #expect(truth.months == 1)

            // Drift of every kind, written behind the consumer's back (as the owner): a wrong
            // amount contributed (a subsidy another suite credits may still set the balance, never
            // this sum), a lost month, a row no event stands behind.
            let phantom = TestStack.unique("phantom-account")
            try await TestStack.withDatabase(of: LoanService.descriptor, asOwner: true) { database in
                try await database.query("UPDATE ledger_accounts SET contributed_fen = contributed_fen + 777 WHERE account_number = \(drifted)")
                try await database.query(
                    "DELETE FROM contribution_months WHERE account_number = \(drifted) AND month = \(String(TestStack.today.description.prefix(7)))")
                try await database.query("INSERT INTO ledger_accounts (account_number, balance_fen) VALUES (\(phantom), 123456)")
            }

            // Only an operator starts a rebuild; an auditor follows one; nobody else.
            #expect(try await loan.post("/v1/read-models/ledger/rebuilds", "", as: .anonymous).status == 401)
            #expect(try await loan.post("/v1/read-models/ledger/rebuilds", "", as: .staff([.fundOfficer, .auditor])).status == 403)
            #expect(try await loan.get("/v1/read-models", as: .staff([.fundOfficer])).status == 403)
            let models = try await loan.get("/v1/read-models", as: .staff([.auditor]))
            #expect(models.status == 200 && models.text.contains(#""name":"ledger""#), "\(models.text)")
            let unknown = try await loan.post("/v1/read-models/no-such-model/rebuilds", "", as: Self.operatorIdentity)
            #expect(unknown.status == 404 && unknown.string("code") == "unknown_read_model", "\(unknown.text)")

            // Deposits go on while the rebuild runs: each must count exactly once.
            let deposits = Task {
                for _ in 1...5 { try await deposit(ledger, busy, 20_000) }
            }
            let url = "http://127.0.0.1:\(loanPort)"
            let rebuilt = try await HPFCtl.run(["rebuild", "loan", "ledger", "--url", url, "--as", "staff:operator-cli:operator", "--json"])
            try await deposits.value
            #expect(rebuilt.status == 0, "\(rebuilt)")
            let status = try JSONDecoder().decode(ReadModelRebuildStatus.self, from: Data(rebuilt.output.utf8))
            let tables = Dictionary(uniqueKeysWithValues: (status.tables ?? []).map { ($0.table, $0) })
            #expect(status.state == "done" && status.eventsApplied > 0)
            #expect((tables["ledger_accounts"]?.changed ?? 0) >= 1 && (tables["ledger_accounts"]?.removed ?? 0) >= 1, "\(rebuilt.output)")
            #expect((tables["contribution_months"]?.added ?? 0) >= 1, "\(rebuilt.output)")
            #expect(rebuilt.errors.contains("rebuild ledger"), "the progress line is on standard error: \(rebuilt.errors)")

            // Mended, and nothing counted twice.
            let mended = try await settled(ledger, drifted, contributedFen: 50_000)
            #expect(mended?.contributedFen == 50_000 && mended?.months == truth.months, "\(String(describing: mended))")
            #expect(try await ledgerRow(phantom) == nil)
            let busyRow = try await settled(ledger, busy, contributedFen: 100_000)
            #expect(busyRow?.contributedFen == 100_000 && busyRow?.months == 1, "five deposits during the rebuild, each once: \(String(describing: busyRow))")

            // The swap went through the live tables' triggers: the pool's totals still equal a recomputation.
            let pool = try await loan.post("/v1/fund-pool/rebuild", "", as: .staff([.fundOfficer]))
            #expect(pool.status == 200 && pool["drift"] as? Bool == false, "\(pool.text)")

            // A rebuild right after finds nothing to mend: the live consumer and the replay agree.
            let again = try await HPFCtl.run(["rebuild", "loan", "ledger", "--url", url, "--as", "staff:operator-cli:operator"])
            #expect(again.status == 0 && again.output.contains("no drift"), "\(again)")
        }
    }
}
