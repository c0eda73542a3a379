import Contracts
import Foundation
import Policy

/// Accounts and events for tests that hand events straight to a service's handlers, not to the
/// topics, so that no other test's consumer applies them.
extension TestStack {
    /// A fresh account number and person reference, known only to the caller.
    static func handlerAccount() -> (account: String, personRef: String) {
        (
            "3207" + String(UInt64.random(in: 100_000_000_000...999_999_999_999)),
            (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
        )
    }

    /// The `account-opened` event of a fresh graduate (a bachelor of 2025, 400.00 of opening
    /// subsidy) opened today.
    static func freshGraduateOpened(_ account: String, personRef: String) throws -> [UInt8] {
        try CloudEventCoding.encode(
            CloudEvent(
                source: EventType.source(service: "enrolment"), type: EventType.accountOpened.rawValue, subject: account,
                data: AccountOpened(
                    accountNumber: account, personRef: personRef, openedOn: TestStack.today, county: "320706", residence: .urban,
                    industry: .ecommerceCrystal, role: .streamer, employmentType: .newForm, childrenCount: 0,
                    education: Education(level: .bachelor, graduationDate: BusinessDate("2025-06-30")),
                    retirementMonth: YearMonth("2063-06")!, agreement: Agreement(schedule: .monthly, amountFen: 20_000, channel: .wechat),
                    monthlyMinimumFen: 11_300)))
    }
}
