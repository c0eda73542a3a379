import Contracts
import Policy
import PostgresNIO
import ServiceRuntime

/// The participant profile this service needs, from the enrolment events; an opened account is
/// also assessed for §11 entrepreneurship support, and may complete a pending opening subsidy
/// (a first contribution can arrive before its account-opened event: they travel on different topics).
enum ParticipantProfiles {
    static func subscription(runtime: ServiceRuntime) -> EventSubscription {
        let p = runtime.parameters
        return EventSubscription(
            consumerName: "participant-profiles", topics: [.enrolmentEvents],
            handlers: [
                .on(.accountOpened, AccountOpened.self) { event, db in
                    let a = event.data
                    try await OpeningSubsidy.lock(account: a.accountNumber, in: db)
                    let rows = try await db.query(
                        """
                        INSERT INTO participants (account_number, person_ref, opened_on, children_count, education_level, graduation_date,
                            residence, employment_type, veteran)
                        VALUES (\(a.accountNumber), \(a.personRef), \(a.openedOn), \(a.childrenCount), \(a.education.level.rawValue),
                            \(a.education.graduationDate), \(a.residence.rawValue), \(a.employmentType.rawValue), \(a.veteran ?? false))
                        ON CONFLICT (account_number) DO NOTHING RETURNING 1
                        """)
                    var inserted = false
                    for try await _ in rows { inserted = true }
                    guard inserted else { return }
                    let grounds = SubsidyRules.entrepreneurshipGrounds(
                        veteran: a.veteran ?? false, bachelorOrAbove: a.education.level.isBachelorOrAbove,
                        graduationDate: a.education.graduationDate, rural: a.residence == .rural,
                        individualBusiness: a.employmentType == .individualBusiness, on: a.openedOn, parameters: p)
                    if !grounds.isEmpty {
                        let eligible = EntrepreneurshipEligible(accountNumber: a.accountNumber, grounds: grounds, assessedOn: a.openedOn)
                        try await db.emit(.entrepreneurshipEligible, eligible, account: a.accountNumber)
                    }
                    try await OpeningSubsidy.evaluate(account: a.accountNumber, in: db)
                }
            ])
    }
}

/// What the opening rule needs to know about a participant.
struct Participant: Sendable {
    let personRef: String
    let childrenCount: Int
    let bachelorOrAbove: Bool
    let graduationDate: BusinessDate?

    static func load(_ account: String, in db: DatabaseContext) async throws -> Participant? {
        let rows = try await db.query(
            """
            SELECT person_ref, children_count, education_level, graduation_date FROM participants WHERE account_number = \(account)
            """)
        for try await (ref, children, level, graduation) in rows.decode((String, Int, String, BusinessDate?).self) {
            return Participant(
                personRef: ref, childrenCount: children,
                bachelorOrAbove: try EducationLevel.stored(level, column: "participants.education_level").isBachelorOrAbove,
                graduationDate: graduation)
        }
        return nil
    }
}
