import ArgumentParser
import Contribution
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// The annual deposit-interest settlement over N accounts, each with a year of history: opened on
/// the first day of the interest year, a deposit then and another in the second half-year (two
/// postings), so each carries the running sum of a year of end-of-day balances, exactly what the
/// ledger keeps. Seeded straight into the contribution schema as the contribution role; run it
/// with the contribution service stopped (the job's events stay in the outbox).
struct InterestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-interest",
        abstract: "The annual interest settlement over N accounts seeded into the contribution schema (make bench's Postgres).",
        discussion: "Seeds straight into the database named by HPF_PG_* (as the contribution role), so it refuses make "
            + "run's Postgres (HPF_PG_PORT 55432 or unset); run it with the contribution service stopped. "
            + "Prints `interest-settlement: N accounts in T s (R accounts/s)`.")

    @Option(help: "Accounts to seed, each with a year of history.")
    var accounts: Int = 1_000_000

    @Option(help: ArgumentHelp("The job's business date (the settlement is the last 30 June before it).", valueName: "yyyy-mm-dd"))
    var asOf: BusinessDate = BusinessDate("2026-07-01")!

    func validate() throws {
        try Checks.within(1...100_000_000, accounts, "--accounts")
        try Stack.refuseRunStackDatabase("bench-interest")
    }

    func run() async throws {
        let accounts = self.accounts
        let asOf = self.asOf
        try await BenchSupport.withJobRuntime(ContributionService.descriptor, asOf: asOf) { runtime in
            let settlementDay = DepositInterest.lastSettlementDay(before: asOf, parameters: runtime.parameters)
            let yearStart = DepositInterest.lastSettlementDay(before: settlementDay, parameters: runtime.parameters).adding(days: 1)
            print("bench: seeding \(accounts) accounts with a year of history from \(yearStart)")
            try await Self.seed(accounts: accounts, yearStart: yearStart, parameters: runtime.parameters, database: runtime.database)
            let started = ContinuousClock.now
            let summary = try await InterestSettlementJob(runtime: runtime).run(asOf: asOf)
            let elapsed = (ContinuousClock.now - started).seconds
            print("bench: posted \(summary.interestFen) fen of interest in \(summary.postings) postings for the year to \(summary.settlementDay)")
            print(String(format: "interest-settlement: %d accounts in %.1f s (%.0f accounts/s)", summary.accounts, elapsed, Double(summary.accounts) / elapsed))
        }
    }

    static func seed(accounts: Int, yearStart: BusinessDate, parameters: PolicyParameters, database: Database) async throws {
        // The rate in force at the start of the year, from the parameters file (never a number here).
        let rate = parameters.depositInterestRates.value(on: yearStart)
        // Postings are append-only (a trigger refuses DELETE), so a run never clears an earlier
        // one: each uses fresh account numbers (3299 + run + serial), and settled ones are not due again.
        let run = Int.random(in: 0..<100)
        let start = yearStart.description
        try await database.query(
            """
            INSERT INTO accounts (account_number, person_ref, county, schedule, status, opened_on, balance_fen, contributed_fen, last_seq,
                                  contribution_count, interest_period_from, balance_since, interest_accrued)
            SELECT '3299' || lpad(\(run)::text, 2, '0') || lpad(i::text, 10, '0'), 'bench-' || i, '320706', 'flexible', 'active', \(start)::date,
                   first_fen + second_fen, first_fen + second_fen, 2, 2, \(start)::date, \(start)::date + (183 + i % 90)::int,
                   first_fen * (183 + i % 90) * \(rate)
            FROM (SELECT i, 100000 + (i % 5000) * 100 AS first_fen, 11300 + i % 20000 AS second_fen
                  FROM generate_series(1, \(accounts)) AS i) s
            """)
        try await database.query(
            """
            INSERT INTO postings (account_number, seq, id, kind, amount_fen, balance_after_fen, at, business_date, reference)
            SELECT a.account_number, p.seq, gen_random_uuid(), 'contribution', p.amount, p.after, now(), p.day, 'bench:' || a.account_number || ':' || p.seq
            FROM accounts a, LATERAL (VALUES
                (1::bigint, a.balance_fen - 11300 - (substr(a.account_number, 7)::bigint % 20000), a.balance_fen - 11300 - (substr(a.account_number, 7)::bigint % 20000), a.opened_on),
                (2::bigint, 11300 + substr(a.account_number, 7)::bigint % 20000, a.balance_fen, a.balance_since)) AS p(seq, amount, after, day)
            WHERE a.account_number LIKE \("3299" + String(format: "%02d", run) + "%")
            """)
        try await database.query("ANALYZE accounts")
        try await database.query("ANALYZE postings")
    }
}
