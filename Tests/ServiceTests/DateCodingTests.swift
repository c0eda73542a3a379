import Contribution
import Enrolment
import Loan
import Policy
import PostgresNIO
import RegionalSync
import ServiceRuntime
import Subsidy
import Testing
import Withdrawal

/// Business dates and months cross the driver as typed values (a `date`, a `YYYY-MM` text),
/// against the real Postgres: what is bound is what is stored, and a stored value the code
/// does not know is an error, never a default.
@Suite("Dates and months through Postgres", .serialized)
struct DateCodingTests {
    /// A connection to the contribution schema, its migrations applied (this suite may run before any service has started).
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let descriptor = ContributionService.descriptor
        try await Migrator.migrate(config: TestStack.config(descriptor), descriptor: descriptor, logger: TestStack.logger)
        return try await TestStack.withDatabase(of: descriptor) { database in try await database.withConnection(body) }
    }

    @Test("a date bound is the date Postgres stores and the date read back, at both ends of the range and across leap days")
    func datesRoundTrip() async throws {
        let dates = ["1800-01-01", "1899-12-31", "1900-02-28", "1999-12-31", "2000-01-01", "2000-02-29", "2024-02-29", "2026-03-16", "9999-12-31"]
            .compactMap(BusinessDate.init)
        #expect(dates.count == 9)
        try await withConnection { connection in
            for date in dates {
                // Postgres's own text form of what was bound, and the binary value read back.
                let rows = try await connection.query("SELECT to_char(\(date), 'YYYY-MM-DD'), \(date)", logger: TestStack.logger)
                for try await (text, back) in rows.decode((String, BusinessDate).self) {
                    #expect(text == date.description)
                    #expect(back == date)
                }
                // Postgres's calendar and ours agree on the next day (9999-12-31 has none here).
                guard date.year < 9999 else { continue }
                for try await next in try await connection.query("SELECT \(date) + 1", logger: TestStack.logger).decode(BusinessDate.self) {
                    #expect(next == date.adding(days: 1))
                }
            }
            // Arrays of dates, as the batch statements bind them.
            let rows = try await connection.query("SELECT d FROM unnest(\(dates)::date[]) WITH ORDINALITY AS u(d, n) ORDER BY n", logger: TestStack.logger)
            var read: [BusinessDate] = []
            for try await date in rows.decode(BusinessDate.self) { read.append(date) }
            #expect(read == dates)
        }
    }

    @Test("a stored date outside 1800-9999 (infinity, year 1) fails to decode instead of becoming some date")
    func unknownDatesRefused() async throws {
        try await withConnection { connection in
            for stored in ["infinity", "-infinity", "0001-01-01", "10000-01-01"] {
                let rows = try await connection.query("SELECT \(stored)::date", logger: TestStack.logger)
                await #expect(throws: (any Error).self, "\(stored)") {
                    for try await _ in rows.decode(BusinessDate.self) {}
                }
            }
        }
    }

    @Test("months are bound and read as YYYY-MM; a malformed stored month is an error")
    func months() async throws {
        try await withConnection { connection in
            let month = YearMonth(year: 2026, month: 3)
            for try await (text, back) in try await connection.query("SELECT \(month)::text, \(month)", logger: TestStack.logger)
                .decode((String, YearMonth).self)
            {
                #expect(text == "2026-03" && back == month)
            }
            for stored in ["2026-3", "2026-13", "+202-01", ""] {
                let rows = try await connection.query("SELECT \(stored)::text", logger: TestStack.logger)
                await #expect(throws: (any Error).self, "\(stored)") {
                    for try await _ in rows.decode(YearMonth.self) {}
                }
            }
        }
    }

    @Test("a month column refuses what is not YYYY-MM when it is written (a CHECK), so a reader never meets one")
    func monthColumnsChecked() async throws {
        try await withConnection { connection in
            func sqlState(_ month: String) async -> String? {
                do {
                    try await connection.query(
                        "INSERT INTO contribution_months (account_number, month) VALUES ('no-such-account', \(month))", logger: TestStack.logger)
                    return nil
                } catch {
                    return DatabaseErrors.sqlState(error)
                }
            }
            for malformed in ["2026-13", "2026-3", "26-03", "+202-01", "2026-03-01", "10000-01", ""] {
                let state = await sqlState(malformed)
                #expect(state == "23514", "\(malformed) is refused by the month check, not \(state ?? "accepted")")
            }
            // A well-formed month passes the check and meets the next rule (no such account).
            #expect(await sqlState("2026-03") == "23503")
        }
    }

    @Test("every date column of every service's schema refuses a date outside 1800-9999 when it is written, so a reader never meets one")
    func dateColumnsChecked() async throws {
        let modules: [any HPFServiceModule.Type] = [
            EnrolmentService.self, ContributionService.self, SubsidyService.self, WithdrawalService.self, LoanService.self, RegionalSyncService.self,
        ]
        for module in modules {
            try await Migrator.migrate(config: TestStack.config(module.descriptor), descriptor: module.descriptor, logger: TestStack.logger)
        }
        let schemas = modules.map { $0.descriptor.schema }
        try await TestStack.withDatabase(of: RegionalSyncService.descriptor) { database in
            // Every date column of the six schemas' tables, and those without the range check.
            var columns = 0
            var unchecked: [String] = []
            for try await (column, checked) in try await database.query(
                """
                SELECT n.nspname || '.' || c.relname || '.' || a.attname,
                       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c' AND a.attnum = ANY (k.conkey)
                               AND pg_get_constraintdef(k.oid) LIKE '%1800-01-01%9999-12-31%')
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ANY (\(schemas)) AND c.relkind = 'r' AND a.atttypid = 'date'::regtype AND a.attnum > 0 AND NOT a.attisdropped
                """
            ).decode((String, Bool).self) {
                columns += 1
                if !checked { unchecked.append(column) }
            }
            #expect(columns > 30, "the query sees the schemas' date columns (\(columns))")
            #expect(unchecked.isEmpty, "date columns without the range check: \(unchecked)")

            // And the check at work on one of them (regional-sync's letter sequences: a date and a number).
            func sqlState(_ day: String) async -> String? {
                do {
                    try await database.query("INSERT INTO letter_sequences (day, last) VALUES (\(day)::date, 0)")
                    try await database.query("DELETE FROM letter_sequences WHERE day = \(day)::date")
                    return nil
                } catch {
                    return DatabaseErrors.sqlState(error)
                }
            }
            for outside in ["1799-12-31", "10000-01-01", "infinity", "-infinity", "0001-01-01"] {
                let state = await sqlState(outside)
                #expect(state == "23514", "\(outside) is refused by the range check, not \(state ?? "accepted")")
            }
            #expect(await sqlState("1800-01-01") == nil)
            #expect(await sqlState("9999-12-31") == nil)
        }
    }

    @Test("a date check whose table is busy is skipped at start (no wait behind the busy table) and added at the next start")
    func dateCheckWaitsForNoBusyTable() async throws {
        let descriptor = RegionalSyncService.descriptor
        let config = TestStack.config(descriptor)
        try await Migrator.migrate(config: config, descriptor: descriptor, logger: TestStack.logger)
        try await TestStack.withDatabase(of: descriptor, asOwner: true) { owner in
            func checks() async throws -> [String] {
                var names: [String] = []
                for try await name in try await owner.query(
                    """
                    SELECT conname FROM pg_constraint WHERE conrelid = 'letter_sequences'::regclass AND contype = 'c'
                      AND pg_get_constraintdef(oid) LIKE '%1800-01-01%9999-12-31%'
                    """
                ).decode(String.self) { names.append(name) }
                return names
            }
            // Other suites start regional-sync services beside this test, and every start re-grants
            // and re-adds checks on this schema (updating the table's catalogue row). The drop and the
            // table lock are therefore taken while holding the schema's migration lock (the one
            // `Migrator.migrate` takes), so no start runs between them or alongside the drop.
            try await owner.withConnection { busy in
                do {
                    try await busy.query("SELECT pg_advisory_lock(hashtext(\(descriptor.schema)))", logger: TestStack.logger)
                    let names = try await checks()
                    #expect(names.count == 1, "\(names)")
                    try await busy.query("BEGIN", logger: TestStack.logger)
                    for name in names {
                        try await busy.query("ALTER TABLE letter_sequences DROP CONSTRAINT \(unescaped: name)", logger: TestStack.logger)
                    }
                    try await busy.query("COMMIT", logger: TestStack.logger)
                    // This session now reads the table in an open transaction: the check cannot be added.
                    try await busy.query("BEGIN", logger: TestStack.logger)
                    try await busy.query("LOCK TABLE letter_sequences IN ACCESS SHARE MODE", logger: TestStack.logger)
                    try await busy.query("SELECT pg_advisory_unlock(hashtext(\(descriptor.schema)))", logger: TestStack.logger)
                    try await Migrator.migrate(config: config, descriptor: descriptor, logger: TestStack.logger)
                    #expect(try await checks().isEmpty, "skipped while the table was busy")
                    try await busy.query("ROLLBACK", logger: TestStack.logger)
                } catch {
                    // The server's own words (PSQLError's description hides them).
                    Issue.record("\(String(reflecting: error))")
                    // The pool keeps this connection: leave it holding no transaction and no lock.
                    _ = try? await busy.query("ROLLBACK", logger: TestStack.logger)
                    _ = try? await busy.query("SELECT pg_advisory_unlock_all()", logger: TestStack.logger)
                    throw error
                }
            }
            try await Migrator.migrate(config: config, descriptor: descriptor, logger: TestStack.logger)
            #expect(try await checks().count == 1, "added at the next start")
        }
    }
}
