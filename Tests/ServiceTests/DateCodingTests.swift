import Contribution
import Policy
import PostgresNIO
import ServiceRuntime
import Testing

/// Business dates and months cross the driver as typed values (a `date`, a `YYYY-MM` text),
/// against the real Postgres: what is bound is what is stored, and a stored value the code
/// does not know is an error, never a default.
@Suite("Dates and months through Postgres")
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
}
