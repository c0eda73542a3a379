import Foundation
import Testing

@testable import Policy

@Suite("Business dates of instants")
struct BusinessDateTests {
    /// The day of an instant by the calendar with Asia/Shanghai's history: the oracle.
    func byCalendar(_ instant: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let c = calendar.dateComponents([.year, .month, .day], from: instant)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    @Test("the arithmetic day (UTC+8 since 1992) equals the calendar's, at midnight's edges and at random instants up to 9999")
    func arithmeticMatchesCalendar() {
        // The last instant whose Shanghai day is in 9999 (later ones are held to 9999-12-31).
        let last = BusinessDate.endOf9999 - 28_800 - 1
        var instants: [TimeInterval] = [BusinessDate.fixedOffsetSince, BusinessDate.fixedOffsetSince - 1, last]
        // Either side of midnight in Shanghai (16:00 UTC) on days across the range.
        for day in stride(from: 8_036, to: 2_932_896, by: 9_973) {
            let midnight = TimeInterval(day) * 86_400 - 28_800
            instants += [midnight - 1, midnight, midnight + 1]
        }
        var generator = SystemRandomNumberGenerator()
        instants += (0..<5_000).map { _ in TimeInterval.random(in: BusinessDate.fixedOffsetSince...last, using: &generator) }
        for seconds in instants {
            let instant = Date(timeIntervalSince1970: seconds)
            #expect(BusinessDate.of(instant).description == byCalendar(instant), "\(seconds)")
        }
    }

    @Test("before 1992 the zone's history counts (1988's daylight saving), and out-of-range instants are held to 1800 and 9999")
    func historyAndBounds() {
        // In 1988 China kept daylight saving (UTC+9) from April to September.
        let summer = Date(timeIntervalSince1970: 583_763_400)  // 1988-07-01T12:30:00Z
        #expect(BusinessDate.of(summer).description == byCalendar(summer))
        // 1988-07-01T15:30:00Z: 23:30 at UTC+8, but 00:30 the next day at the daylight time in force.
        let halfPastMidnight = Date(timeIntervalSince1970: 583_774_200)
        #expect(BusinessDate.of(halfPastMidnight) == BusinessDate("1988-07-02"))
        #expect(BusinessDate.of(Date(timeIntervalSince1970: BusinessDate.endOf9999 - 1)) == BusinessDate("9999-12-31"))
        #expect(BusinessDate.of(Date(timeIntervalSince1970: 1e15)) == BusinessDate("9999-12-31"))
        #expect(BusinessDate.of(Date(timeIntervalSince1970: -1e13)) == BusinessDate("1800-01-01"))
    }
}
