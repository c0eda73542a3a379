import Contracts
import Foundation
import Hummingbird
import Policy
import PostgresNIO
import ServiceRuntime

/// §12 social-insurance subsidy: the social-security system reports a month's payment; we
/// decide by the rule and the configured share, at most 24 months per person, and publish the
/// decision for the payment system (paid to a bank account, outside the HPF cap). Idempotent on
/// (person, month): a replay returns the original decision, a different body for it is a 409.
struct SocialInsuranceSubsidy: Sendable {
    let runtime: ServiceRuntime

    struct Body: Decodable, Sendable {
        var idNumber: String
        var month: YearMonth
        var paidFen: Fen
        var leftSchoolOn: BusinessDate
        var unemployedBeforeFlexibleWork: Bool
    }

    struct Decision: Codable, Sendable {
        var decisionId: String
        var idNumber: String
        var month: YearMonth
        var approved: Bool
        var subsidyFen: Fen
        var reason: String
        var monthsSubsidised: Int
    }

    @Sendable func decide(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let body = try await HTTPJSON.decode(Body.self, from: request)
        guard body.paidFen > 0 else {
            throw Problem.malformed("paidFen must be positive", errors: [.init(field: "paidFen", message: "a positive number of fen")])
        }
        guard let id = ResidentID(body.idNumber) else { throw Problem.rule("invalid_id_number", "the resident ID number is not valid") }
        let personRef = runtime.personRefHasher.ref(id)
        let fingerprint = "\(body.month)|\(body.paidFen)|\(body.leftSchoolOn)|\(body.unemployedBeforeFlexibleWork)"
        // One person's decisions serialise on the lock, so the 24-month count cannot race.
        let (decision, replay) = try await runtime.idempotentWrite(
            lock: ["si:" + personRef], logger: context.logger,
            find: { db -> StoredRequest<(UUID, Bool, Int64, String)>? in
                for try await (decisionID, approved, subsidy, reason, storedFingerprint) in try await db.query(
                    """
                    SELECT decision_id, approved, subsidy_fen, reason, fingerprint FROM social_insurance_decisions
                    WHERE person_ref = \(personRef) AND month = \(body.month)
                    """
                ).decode((UUID, Bool, Int64, String, String).self) {
                    return StoredRequest(fingerprint: storedFingerprint, stored: (decisionID, approved, subsidy, reason))
                }
                return nil
            },
            fingerprint: fingerprint,
            mismatch: { Problem.conflict("duplicate_payment_mismatch", "month \(body.month) was already reported with different facts") },
            replay: { stored, db in
                let (decisionID, approved, subsidy, reason) = stored
                let used = try await monthsSubsidised(personRef, db)
                return Decision(
                    decisionId: decisionID.uuidString.lowercased(), idNumber: id.masked, month: body.month, approved: approved,
                    subsidyFen: subsidy, reason: reason, monthsSubsidised: used)
            }
        ) { db -> Decision in
            let used = try await monthsSubsidised(personRef, db)
            let rule = SubsidyRules.socialInsurance(
                paid: body.paidFen, month: body.month, leftSchoolOn: body.leftSchoolOn,
                unemployedBefore: body.unemployedBeforeFlexibleWork, monthsAlreadySubsidised: used,
                parameters: runtime.parameters)
            var account: String?
            for try await number in try await db.query(
                "SELECT account_number FROM participants WHERE person_ref = \(personRef) ORDER BY opened_on DESC LIMIT 1"
            ).decode(String.self) { account = number }
            let decisionID = UUID()
            try await db.query(
                """
                INSERT INTO social_insurance_decisions (person_ref, month, decision_id, account_number, paid_fen, approved, subsidy_fen, reason,
                    fingerprint, decided_on)
                VALUES (\(personRef), \(body.month), \(decisionID), \(account), \(body.paidFen), \(rule.approved), \(rule.subsidy),
                    \(rule.reason), \(fingerprint), \(runtime.clock.today))
                """)
            let monthsNow = used + (rule.approved ? 1 : 0)
            let decided = SocialInsuranceSubsidyDecided(
                decisionId: decisionID.uuidString.lowercased(), personRef: personRef, accountNumber: account,
                month: body.month, paidFen: body.paidFen, approved: rule.approved, subsidyFen: rule.subsidy,
                reason: rule.reason, monthsSubsidised: monthsNow)
            let event = CloudEvent(
                id: decisionID, source: runtime.descriptor.eventSource, type: EventType.socialInsuranceSubsidyDecided.rawValue,
                subject: account ?? personRef, data: decided)
            try await Outbox.enqueue(event, topic: .subsidyEvents, aggregateType: "person", on: db.connection, logger: db.logger)
            return Decision(
                decisionId: decided.decisionId, idNumber: id.masked, month: body.month, approved: rule.approved,
                subsidyFen: rule.subsidy, reason: rule.reason, monthsSubsidised: monthsNow
            )
        }
        return try HTTPJSON.response(replay ? .ok : .created, decision)
    }

    private func monthsSubsidised(_ personRef: String, _ db: DatabaseContext) async throws -> Int {
        for try await count in try await db.query(
            "SELECT count(*) FROM social_insurance_decisions WHERE person_ref = \(personRef) AND approved"
        ).decode(Int64.self) { return Int(count) }
        return 0
    }
}
