import Contracts
import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// §3 opening subsidy: on an account's first-ever contribution inside the validity window,
/// 200/300/400 yuan by the highest applicable tier, exactly once per person (a unique index on
/// the person, so replays, restarts and re-enrolment cannot grant it twice).
enum OpeningSubsidy {
    /// Takes the account's opening lock for the rest of the transaction. The two facts the rule
    /// needs (the profile, from `account-opened`, and the first lot, from `contribution-received`)
    /// arrive on different topics and are written by different consumers; each writes its fact
    /// and then evaluates. Without a common lock, two transactions at the same moment each miss
    /// the other's uncommitted fact and neither grants: the person never gets the subsidy. Under
    /// the lock, whichever commits second sees both facts.
    static func lock(account: String, in db: DatabaseContext) async throws {
        try await db.query("SELECT pg_advisory_xact_lock(hashtextextended(\("opening-subsidy:" + account), 0))")
    }

    /// Grants the subsidy if both facts are known (profile and first lot) and it was not granted.
    /// The caller holds the account's opening lock (`lock`) since before it wrote its fact.
    static func evaluate(account: String, in db: DatabaseContext) async throws {
        guard let participant = try await Participant.load(account, in: db) else { return }
        var firstDeposit: BusinessDate?
        for try await started in try await db.query(
            "SELECT started_on FROM lots WHERE account_number = \(account) AND first_contribution"
        ).decode(BusinessDate.self) { firstDeposit = started }
        guard let firstDeposit, Eligibility.isSchemeInForce(on: firstDeposit, parameters: db.parameters) else { return }
        for try await _ in try await db.query(
            "SELECT 1 FROM grants WHERE person_ref = \(participant.personRef) AND kind = 'opening'")
        { return }
        let rule = SubsidyRules.openingSubsidy(
            childrenCount: participant.childrenCount, bachelorOrAbove: participant.bachelorOrAbove,
            graduationDate: participant.graduationDate, firstDepositOn: firstDeposit,
            parameters: db.parameters)
        try await GrantRecorder.grant(
            personRef: participant.personRef, account: account, kind: .opening, amount: rule.amount, reason: rule.reason,
            grantedOn: firstDeposit, in: db)
    }
}

/// Records one grant for one person under the lifetime cap: locks the person's cap row, clips,
/// writes the grant and the `subsidy-granted` event in the caller's transaction.
enum GrantRecorder {
    @discardableResult
    static func grant(
        personRef: String, account: String, kind: SubsidyKind, amount: Fen, reason: String, grantedOn: BusinessDate,
        in db: DatabaseContext
    ) async throws -> Fen {
        let already = try await CapLedger.lock([personRef], in: db)[personRef] ?? 0
        let clipped = SubsidyRules.clipToCap(amount, alreadyGranted: already, on: grantedOn, parameters: db.parameters)
        guard clipped > 0 else { return 0 }
        let eventID = UUID()
        let clippedReason = clipped < amount ? "\(reason); clipped to the lifetime cap" : reason
        try await db.query(
            """
            INSERT INTO grants (id, person_ref, account_number, kind, amount_fen, granted_on, reason, lots)
            VALUES (\(eventID), \(personRef), \(account), \(kind.rawValue), \(clipped), \(grantedOn), \(clippedReason), 1)
            """)
        try await CapLedger.add([personRef: clipped], in: db)
        let cap = db.parameters.lifetimeSubsidyCapFen.value(on: grantedOn)
        let granted = SubsidyGranted(
            grantId: eventID.uuidString.lowercased(), accountNumber: account, kind: kind, amountFen: clipped,
            grantedOn: grantedOn, reason: clippedReason, lots: 1, remainingCapFen: cap - already - clipped)
        let event = CloudEvent(
            id: eventID, source: db.runtime.descriptor.eventSource, type: EventType.subsidyGranted.rawValue,
            subject: account, data: granted)
        try await Outbox.enqueue(event, topic: .subsidyEvents, on: db.connection, logger: db.logger)
        return clipped
    }
}

/// What each person has been granted so far (opening + annual), for the lifetime cap.
enum CapLedger {
    /// Locks the persons' rows (creating them at zero) and returns their totals.
    static func lock(_ persons: [String], in db: DatabaseContext) async throws -> [String: Fen] {
        try await db.query(
            """
            INSERT INTO person_caps (person_ref, granted_fen) SELECT unnest(\(persons)::text[]), 0 ON CONFLICT DO NOTHING
            """)
        var totals: [String: Fen] = [:]
        for try await (ref, granted) in try await db.query(
            """
            SELECT person_ref, granted_fen FROM person_caps WHERE person_ref = ANY(\(persons)) ORDER BY person_ref FOR UPDATE
            """
        ).decode((String, Int64).self) { totals[ref] = granted }
        return totals
    }

    static func add(_ amounts: [String: Fen], in db: DatabaseContext) async throws {
        let refs = Array(amounts.keys)
        let values = refs.map { amounts[$0]! }
        try await db.query(
            """
            UPDATE person_caps SET granted_fen = granted_fen + u.amount FROM unnest(\(refs)::text[], \(values)::bigint[]) AS u(ref, amount)
            WHERE person_caps.person_ref = u.ref
            """)
    }
}
