import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §13 credit registry: bad-credit records imported by staff (and, later, from the loan
/// service's events). An active record blocks enrolment.
struct CreditRegistry: Sendable {
    let runtime: ServiceRuntime
    let hasher: PersonRefHasher

    init(runtime: ServiceRuntime) {
        self.runtime = runtime
        hasher = runtime.personRefHasher
    }

    struct Record: Decodable {
        var idNumber: String
        var source: String
        var reference: String
        var reason: String
        var activeFrom: BusinessDate
        var activeUntil: BusinessDate?
    }

    struct ImportRequest: Decodable { var records: [Record] }
    struct ImportResult: Encodable { var imported: Int; var alreadyKnown: Int }

    /// `POST /v1/credit-records` (staff): idempotent on (source, reference).
    @Sendable func importRecords(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(ImportRequest.self, from: request)
        var problems: [Problem.FieldError] = []
        var ids: [ResidentID] = []
        for (index, record) in body.records.enumerated() {
            guard let id = ResidentID(record.idNumber) else {
                problems.append(.init(field: "records[\(index)].idNumber", message: "not a valid resident ID number"))
                continue
            }
            if let until = record.activeUntil, until < record.activeFrom {
                problems.append(.init(field: "records[\(index)].activeUntil", message: "before activeFrom"))
            }
            ids.append(id)
        }
        guard problems.isEmpty else {
            throw Problem(
                .unprocessableContent, code: "invalid_id_number", title: "Refused by rule invalid_id_number",
                detail: "some records are invalid; nothing was imported", errors: problems)
        }
        let imported: Int = try await runtime.idempotentTransaction(logger: context.logger) { db in
            var count = 0
            for (record, id) in zip(body.records, ids) {
                let added = CreditRecordAdded(
                    personRef: hasher.ref(id), accountNumber: nil, source: record.source, reference: record.reference,
                    reason: record.reason, activeFrom: record.activeFrom, activeUntil: record.activeUntil)
                if try await Self.record(added, masked: id.masked, in: db) { count += 1 }
            }
            return count
        }
        return try HTTPJSON.response(.ok, ImportResult(imported: imported, alreadyKnown: body.records.count - imported))
    }
}

extension CreditRegistry {
    /// §13: bad-credit records the loan service creates when a loan's overdue instalments cross
    /// the thresholds; recorded like imported ones (source `loan`, reference the loan id), so they
    /// block enrolment while active.
    static func loanRecords(runtime: ServiceRuntime) -> EventSubscription {
        EventSubscription(
            consumerName: "credit-registry", topics: [.loanEvents],
            handlers: [
                .on(.badCreditRecorded, BadCreditRecorded.self) { event, db in
                    let r = event.data
                    var masked: String?
                    for try await m in try await db.query(
                        "SELECT id_number_masked FROM accounts WHERE person_ref = \(r.personRef) LIMIT 1"
                    ).decode(String.self) { masked = m }
                    guard let masked else { throw EventRejection(detail: "bad-credit record for a person with no account here") }
                    let added = CreditRecordAdded(
                        personRef: r.personRef, accountNumber: nil, source: "loan", reference: r.loanId, reason: r.reason,
                        activeFrom: r.recordedOn, activeUntil: nil)
                    guard try await !record(added, masked: masked, in: db) else { return }
                    // Known already: the loan's arrears were cleared and are overdue again, so it blocks again.
                    try await db.query(
                        """
                        UPDATE credit_records SET active_until = NULL, reason = \(r.reason)
                        WHERE source = 'loan' AND reference = \(r.loanId) AND active_until IS NOT NULL
                        """)
                },
                // The arrears were cleared: the record stops blocking after its retention (POLICY.md decisions).
                .on(.badCreditCleared, BadCreditCleared.self) { event, db in
                    try await db.query(
                        """
                        UPDATE credit_records SET active_until = \(event.data.activeUntil)
                        WHERE source = 'loan' AND reference = \(event.data.loanId)
                        """)
                },
            ])
    }
}

extension CreditRegistry {
    /// Records a credit record once (source + reference) and publishes it; false when known.
    static func record(_ added: CreditRecordAdded, masked: String, in db: DatabaseContext) async throws -> Bool {
        let rows = try await db.query(
            """
            INSERT INTO credit_records (id, person_ref, id_number_masked, source, reference, reason, active_from, active_until)
            VALUES (\(UUID()), \(added.personRef), \(masked), \(added.source), \(added.reference), \(added.reason),
                    \(added.activeFrom), \(added.activeUntil))
            ON CONFLICT (source, reference) DO NOTHING RETURNING 1
            """)
        var inserted = false
        for try await _ in rows { inserted = true }
        guard inserted else { return false }
        var event = added
        for try await number in try await db.query(
            "SELECT account_number FROM accounts WHERE person_ref = \(added.personRef) LIMIT 1"
        ).decode(String.self) {
            event.accountNumber = number
        }
        try await db.emit(.creditRecordAdded, event, account: event.accountNumber ?? added.personRef)
        return true
    }
}

enum CreditQueries {
    static func hasActiveRecord(personRef: String, on date: BusinessDate, in db: DatabaseContext) async throws -> Bool {
        let rows = try await db.query(
            """
            SELECT 1 FROM credit_records WHERE person_ref = \(personRef) AND active_from <= \(date)
              AND (active_until IS NULL OR active_until >= \(date)) LIMIT 1
            """)
        for try await _ in rows { return true }
        return false
    }
}
