import Foundation
import Policy
import PostgresNIO
import ServiceRuntime

/// An application's row and its `loan-application-decided` event in one statement, prepared once
/// per connection: every decision writes it, and parsing and planning it each time was Postgres
/// work repeated for every applicant.
struct ApplicationRecord: PostgresPreparedStatement {
    static let sql =
        """
        WITH application AS (
            INSERT INTO applications (application_id, account_number, spouse_account_number, request, decision, reasons, quota, approved_fen,
                annual_rate_milli_percent, first_payment_fen, investigation, review, request_id, fingerprint, decided_on)
            VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, $9, $10, $11::jsonb, $12::jsonb, $13, $14, $15))
        """ + Outbox.insertSQL(from: 16)
    typealias Row = ()

    let applicationId: UUID
    let accountNumber: String
    let spouseAccountNumber: String?
    /// The request as JSON (also its fingerprint).
    let request: String
    let decision: String
    let reasons: [String]
    let quota: String
    let approvedFen: Int64
    let annualRateMilliPercent: Int64
    let firstPaymentFen: Int64?
    let investigation: String
    let review: String
    let requestId: String?
    let fingerprint: String
    let decidedOn: BusinessDate
    let event: Outbox.Row

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 22)
        bindings.append(applicationId)
        bindings.append(accountNumber)
        bindings.append(spouseAccountNumber)
        bindings.append(request)
        bindings.append(decision)
        bindings.append(reasons)
        bindings.append(quota)
        bindings.append(approvedFen)
        bindings.append(annualRateMilliPercent)
        bindings.append(firstPaymentFen)
        bindings.append(investigation)
        bindings.append(review)
        bindings.append(requestId)
        bindings.append(fingerprint)
        bindings.append(decidedOn)
        event.appendBindings(to: &bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}
