import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §5 counts a couple's balances and contributions together. A spouse's money counts in an
/// application only after the spouse, signed in as the holder of their own account, has
/// consented to that applicant's next application; the consent is used up by it and lapses after
/// `spouseConsentDays`. (Before this, naming any account as spouse borrowed on its balance.)
struct SpouseConsents: Sendable {
    let runtime: ServiceRuntime

    struct Body: Codable, Sendable {
        var applicantAccountNumber: String
    }

    struct View: Codable, Sendable {
        var consentId: String
        var spouseAccountNumber: String
        var applicantAccountNumber: String
        var givenOn: String
        var validUntil: String
    }

    /// `POST /v1/accounts/{accountNumber}/spouse-consents` by the spouse: 201 with the consent.
    @Sendable func give(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let spouse = try context.parameters.require("accountNumber")
        try await runtime.authorize(context, account: spouse)
        let body = try await HTTPJSON.decode(Body.self, from: request)
        guard body.applicantAccountNumber != spouse, (1...32).contains(body.applicantAccountNumber.count),
            body.applicantAccountNumber.allSatisfy(\.isASCII), body.applicantAccountNumber.allSatisfy(\.isNumber)
        else {
            throw Problem.malformed(
                "applicantAccountNumber must be another account's number",
                errors: [.init(field: "applicantAccountNumber", message: "another account's number (digits)")])
        }
        let today = runtime.clock.today
        let id = UUID()
        try await runtime.database.query(
            """
            INSERT INTO spouse_consents (consent_id, spouse_account, applicant_account, given_on)
            VALUES (\(id), \(spouse), \(body.applicantAccountNumber), \(today))
            """)
        let until = today.adding(days: runtime.parameters.spouseConsentDays.value(on: today))
        return try HTTPJSON.response(
            .created,
            View(
                consentId: id.uuidString.lowercased(), spouseAccountNumber: spouse,
                applicantAccountNumber: body.applicantAccountNumber, givenOn: today.description,
                validUntil: until.description))
    }

    /// The oldest consent of `spouse` for `applicant` that is neither used nor lapsed on `date`.
    static func unused(
        spouse: String, applicant: String, on date: BusinessDate, parameters: PolicyParameters,
        in db: DatabaseContext
    ) async throws -> UUID? {
        let earliest = date.adding(days: -parameters.spouseConsentDays.value(on: date))
        let rows = try await db.query(
            """
            SELECT consent_id FROM spouse_consents
            WHERE spouse_account = \(spouse) AND applicant_account = \(applicant) AND used_by IS NULL AND given_on > \(earliest)
            ORDER BY given_on LIMIT 1
            """)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// An application used the consent up (in the application's transaction).
    static func use(_ consent: UUID, by application: UUID, in db: DatabaseContext) async throws {
        try await db.query("UPDATE spouse_consents SET used_by = \(application) WHERE consent_id = \(consent)")
    }
}
