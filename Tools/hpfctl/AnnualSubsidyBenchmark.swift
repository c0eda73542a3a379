import ArgumentParser
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime
import Subsidy

/// The annual subsidy job over N lots (four per person, all with an anniversary due inside the
/// validity window), seeded straight into the subsidy schema as the subsidy role. Run it with
/// the subsidy service stopped: the job's events stay in the outbox.
struct AnnualSubsidyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-annual",
        abstract: "The annual subsidy job over N lots seeded into the subsidy schema (make bench's Postgres).",
        discussion: "Seeds straight into the database named by HPF_PG_* (as the subsidy role), so it refuses make run's "
            + "Postgres (HPF_PG_PORT 55432 or unset); run it with the subsidy service stopped. "
            + "Prints `annual-subsidy: N lots in T s (R lots/s)`.")

    @Option(help: "Lots to seed (four per person).")
    var lots: Int = 1_000_000

    @Option(help: ArgumentHelp("The job's business date.", valueName: "yyyy-mm-dd"))
    var asOf: BusinessDate = BusinessDate("2027-01-01")!

    func validate() throws {
        try Checks.within(1...100_000_000, lots, "--lots")
        try Stack.refuseRunStackDatabase("bench-annual")
    }

    func run() async throws {
        let lots = self.lots
        let asOf = self.asOf
        try await BenchSupport.withJobRuntime(SubsidyService.descriptor, asOf: asOf) { runtime in
            print("bench: seeding \(lots) lots for \(lots / 4) persons")
            try await Self.seed(lots: lots, database: runtime.database)
            let started = ContinuousClock.now
            let summary = try await AnnualSubsidyJob(runtime: runtime).run(asOf: asOf)
            let elapsed = (ContinuousClock.now - started).seconds
            print("bench: granted \(summary.grantedFen) fen on \(summary.lots) lots of \(summary.accounts) accounts")
            print(String(format: "annual-subsidy: %d lots in %.1f s (%.0f lots/s)", summary.lots, elapsed, Double(summary.lots) / elapsed))
        }
    }

    static func seed(lots: Int, database: Database) async throws {
        let persons = max(lots / 4, 1)
        for statement in [
            "DELETE FROM grants WHERE account_number LIKE 'bench-%'",
            "DELETE FROM lot_grants WHERE lot_id LIKE 'bench-%'",
            "DELETE FROM person_caps WHERE person_ref LIKE 'bench-%'",
            "DELETE FROM lots WHERE account_number LIKE 'bench-%'",
            "DELETE FROM participants WHERE account_number LIKE 'bench-%'",
            "DELETE FROM outbox WHERE aggregateid LIKE 'bench-%'",
        ] { try await database.query(PostgresQuery(unsafeSQL: statement)) }
        try await database.query(
            """
            INSERT INTO participants (account_number, person_ref, opened_on, children_count, education_level, residence, employment_type)
            SELECT 'bench-' || i, 'bench-' || md5(i::text), DATE '2025-06-09', 0, 'below_bachelor', 'urban', 'part_time'
            FROM generate_series(1, \(persons)) AS i
            """)
        try await database.query(
            """
            INSERT INTO lots (lot_id, account_number, started_on, sequence, original_fen, remaining_fen, first_contribution, next_anniversary)
            SELECT 'bench-lot-' || i, 'bench-' || ((i - 1) % \(persons) + 1), DATE '2025-07-01' + (i % 180)::int, i,
                   100000 + i % 1000, 100000 + i % 1000, false, (DATE '2025-07-01' + (i % 180)::int) + interval '1 year'
            FROM generate_series(1, \(lots)) AS i
            """)
        try await database.query("ANALYZE lots")
        try await database.query("ANALYZE participants")
    }
}
