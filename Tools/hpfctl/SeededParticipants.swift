import Foundation
import Loan
import PostgresNIO
import ServiceRuntime

/// Synthetic participants seeded straight into the loan service's read model (as the loan role),
/// with a balance each, so its fund pool holds a city's worth of accounts (§19 benchmark). Their
/// account numbers start `bench-seed-`; seeding a new population replaces the previous one.
final class SeededParticipants: Sendable {
    let runtime: ServiceRuntime
    private let running: Task<Void, Never>

    init() throws {
        var config = ServiceConfig(descriptor: LoanService.descriptor)
        config.logLevel = "error"
        let runtime = try ServiceRuntime(descriptor: LoanService.descriptor, config: config)
        self.runtime = runtime
        running = Task { await runtime.database.client.run() }
    }

    func seed(_ accounts: Int) async throws {
        let started = ContinuousClock.now
        for statement in [
            "DELETE FROM ledger_accounts WHERE account_number LIKE 'bench-seed-%'",
            "DELETE FROM participants WHERE account_number LIKE 'bench-seed-%'",
        ] {
            try await runtime.database.query(PostgresQuery(unsafeSQL: statement))
        }
        try await runtime.database.query(
            """
            INSERT INTO participants (account_number, person_ref, retirement_month, bachelor_or_above)
            SELECT 'bench-seed-' || i, 'bench-seed-' || md5(i::text), '2055-01', false FROM generate_series(1, \(accounts)) AS i
            """)
        // Through the pool's trigger, like every ledger event: the totals stay exact.
        try await runtime.database.query(
            """
            INSERT INTO ledger_accounts (account_number, closed, contributed_fen, balance_fen, last_event_at)
            SELECT 'bench-seed-' || i, false, 300000, 300000, now() FROM generate_series(1, \(accounts)) AS i
            """)
        print(String(format: "bench: %d participants seeded into the loan read model in %.1f s", accounts, (ContinuousClock.now - started).seconds))
        try await settle()
    }

    /// Vacuums and analyses the loan schema as its owner, so the measurement that follows sees the
    /// plans and the visibility map of the data just written, and autovacuum (woken once a minute
    /// by the rows the earlier phases and the seeding wrote) does not take a core in the middle of
    /// it: on two cores that alone moved p99 by tens of milliseconds. The service role may not
    /// vacuum; the owner runs it on its own connection, as `Migrator` does.
    func settle() async throws {
        let started = ContinuousClock.now
        let config = runtime.config
        let owner = try await PostgresConnection.connect(
            configuration: try config.postgresConnection(user: config.pgOwnerUser, password: config.pgOwnerPassword), id: 1,
            logger: runtime.logger)
        do {
            var tables: [String] = []
            for try await table in try await owner.query(
                "SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename", logger: runtime.logger
            ).decode(String.self) { tables.append(table) }
            try await owner.query(PostgresQuery(unsafeSQL: "VACUUM (ANALYZE) " + tables.joined(separator: ", ")), logger: runtime.logger)
            try await owner.close()
        } catch {
            try? await owner.close()
            throw error
        }
        print(
            String(
                format: "bench: loan schema vacuumed and analysed as its owner in %.1f s (no autovacuum during the measurement)",
                (ContinuousClock.now - started).seconds))
    }

    func close() async throws {
        await runtime.producer.shutdown()
        running.cancel()
    }
}
