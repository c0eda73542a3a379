import Contracts
import Foundation
import Logging
import Policy
import PostgresNIO
import ServiceRuntime

/// §3 annual retention subsidy: on each lot anniversary inside the validity window, the year's
/// rate on what remains of the lot, clipped to the person's lifetime cap. Each lot carries its
/// next anniversary, advanced in the same transaction as its grants, so running the job twice
/// (or the daily run and a staff run) grants nothing new. Works in chunks of persons, so a
/// person's lots are clipped together; one event per account and chunk credits the ledger.
public struct AnnualSubsidyJob: Sendable {
    let runtime: ServiceRuntime
    static let personsPerChunk = 2_000

    public init(runtime: ServiceRuntime) { self.runtime = runtime }

    public struct Summary: Codable, Sendable {
        public var asOf: BusinessDate
        public var lots = 0
        public var accounts = 0
        public var grantedFen: Fen = 0
    }

    struct Lot {
        let id: String
        let account: String
        let person: String
        let startedOn: BusinessDate
        let remaining: Fen
        let nextAnniversary: BusinessDate
    }

    /// Chunks run on this many connections at once; persons are disjoint, so they never wait on
    /// each other's locks, and Swift work overlaps database work.
    static let workers = 2

    public func run(asOf: BusinessDate) async throws -> Summary {
        let cursor = PersonCursor(database: runtime.database, batch: Self.personsPerChunk)
        let summary = try await runtime.inChunks(
            workers: Self.workers, empty: Summary(asOf: asOf), next: { try await cursor.next() },
            chunk: { try await runChunk(asOf: asOf, persons: $0) }
        ) { total, part in
            total.lots += part.lots
            total.accounts += part.accounts
            total.grantedFen += part.grantedFen
        }
        try await runtime.database.query(
            """
            INSERT INTO annual_runs (as_of, lots, granted_fen) VALUES (\(asOf), \(summary.lots), \(summary.grantedFen))
            ON CONFLICT (as_of) DO UPDATE SET lots = annual_runs.lots + excluded.lots,
                granted_fen = annual_runs.granted_fen + excluded.granted_fen, ran_at = now()
            """)
        return summary
    }

    /// Hands out the persons in index order, a batch at a time.
    actor PersonCursor {
        let database: Database
        let batch: Int
        var after = ""
        var exhausted = false

        init(database: Database, batch: Int) {
            self.database = database
            self.batch = batch
        }

        func next() async throws -> [String]? {
            guard !exhausted else { return nil }
            var persons: [String] = []
            for try await ref in try await database.query(
                """
                SELECT DISTINCT person_ref FROM participants WHERE person_ref > \(after) ORDER BY person_ref LIMIT \(batch)
                """
            ).decode(String.self) { persons.append(ref) }
            guard let last = persons.last else {
                exhausted = true
                return nil
            }
            after = last
            return persons
        }
    }

    /// One batch of persons in one transaction.
    private func runChunk(asOf: BusinessDate, persons chunkPersons: [String]) async throws -> Summary {
        let p = runtime.parameters
        return try await runtime.transaction { db in
            // The job is idempotent and re-runnable, and a lost commit loses its grants and their
            // events together: it need not wait for the WAL flush.
            try await db.query("SET LOCAL synchronous_commit = off")
            let lots = try await dueLots(asOf: asOf, persons: chunkPersons, in: db)
            guard !lots.isEmpty else { return Summary(asOf: asOf) }
            let persons = Array(Set(lots.map(\.person)))
            var granted = try await CapLedger.lock(persons, in: db)
            var grantIDs: [UUID] = [], grantLots: [String] = [], amounts: [Int64] = [], anniversaries: [BusinessDate] = []
            var lotIDs: [String] = [], nextAnniversaries: [BusinessDate] = []
            var perAccount: [String: (event: UUID, amount: Fen, lots: Int, person: String)] = [:]
            var added: [String: Fen] = [:]
            for lot in lots {
                let (due, next) = SubsidyRules.anniversaries(startedOn: lot.startedOn, from: lot.nextAnniversary, asOf: asOf)
                lotIDs.append(lot.id)
                nextAnniversaries.append(next)
                for anniversary in due where SubsidyRules.earnsAnnualSubsidy(anniversary: anniversary, parameters: p) {
                    let amount = SubsidyRules.clipToCap(
                        SubsidyRules.annualGrant(remaining: lot.remaining, anniversary: anniversary, parameters: p),
                        alreadyGranted: granted[lot.person, default: 0], on: anniversary, parameters: p)
                    guard amount > 0 else { continue }
                    granted[lot.person, default: 0] += amount
                    added[lot.person, default: 0] += amount
                    let grant = perAccount[lot.account] ?? (UUID.timeOrdered(), 0, 0, lot.person)
                    perAccount[lot.account] = (grant.event, grant.amount + amount, grant.lots + 1, lot.person)
                    grantIDs.append(grant.event); grantLots.append(lot.id); amounts.append(amount); anniversaries.append(anniversary)
                }
            }
            let accounts = perAccount.keys.sorted()
            if !accounts.isEmpty {
                let grants = accounts.map { perAccount[$0]! }
                try await db.query(
                    """
                    INSERT INTO grants (id, person_ref, account_number, kind, amount_fen, granted_on, reason, lots)
                    SELECT id, person, account, 'annual', amount, \(asOf), 'annual retention subsidy (§3)', lots
                    FROM unnest(\(grants.map(\.event))::uuid[], \(grants.map(\.person))::text[], \(accounts)::text[],
                                \(grants.map(\.amount))::bigint[], \(grants.map { Int64($0.lots) })::bigint[]) AS g(id, person, account, amount, lots)
                    """)
                try await db.query(
                    """
                    INSERT INTO lot_grants (lot_id, anniversary, grant_id, amount_fen)
                    SELECT lot, anniversary, grant_id, amount
                    FROM unnest(\(grantLots)::text[], \(anniversaries)::date[], \(grantIDs)::uuid[], \(amounts)::bigint[]) AS g(lot, anniversary, grant_id, amount)
                    """)
                try await CapLedger.add(added, in: db)
            }
            try await db.query(
                """
                UPDATE lots SET next_anniversary = u.next FROM unnest(\(lotIDs)::text[], \(nextAnniversaries)::date[]) AS u(id, next)
                WHERE lots.lot_id = u.id
                """)
            let cap = p.lifetimeSubsidyCapFen.value(on: asOf)
            let events = perAccount.sorted { $0.key < $1.key }.map { account, grant in
                CloudEvent(
                    id: grant.event, source: runtime.descriptor.eventSource, type: EventType.subsidyGranted.rawValue, subject: account,
                    data: SubsidyGranted(
                        grantId: grant.event.uuidString.lowercased(), accountNumber: account, kind: .annual,
                        amountFen: grant.amount, grantedOn: asOf, reason: "annual retention subsidy (§3)",
                        lots: grant.lots, remainingCapFen: cap - granted[grant.person, default: 0]))
            }
            try await Outbox.enqueue(batch: events, topic: .subsidyEvents, on: db.connection, logger: db.logger)
            return Summary(asOf: asOf, lots: lots.count, accounts: perAccount.count, grantedFen: amounts.reduce(0, +))
        }
    }

    /// The chunk's lots with an anniversary due by `asOf`, locked.
    private func dueLots(asOf: BusinessDate, persons: [String], in db: DatabaseContext) async throws -> [Lot] {
        let rows = try await db.query(
            """
            SELECT l.lot_id, l.account_number, p.person_ref, l.started_on, l.remaining_fen, l.next_anniversary
            FROM participants p JOIN lots l ON l.account_number = p.account_number
            WHERE p.person_ref = ANY(\(persons)) AND l.next_anniversary <= \(asOf) AND l.remaining_fen > 0
            ORDER BY p.person_ref
            FOR UPDATE OF l
            """)
        var lots: [Lot] = []
        for try await (id, account, person, started, remaining, next) in rows.decode((String, String, String, BusinessDate, Int64, BusinessDate).self) {
            lots.append(
                Lot(
                    id: id, account: account, person: person, startedOn: started, remaining: remaining,
                    nextAnniversary: next))
        }
        return lots
    }
}
