import Contracts
import Foundation
import Testing

/// The ranges by kind of field, checked on raw JSON before any typed decoding.
@Suite("Input ranges")
struct RangeCheckTests {
    func violations(_ json: String, overrides: [String: ClosedRange<Int64>] = [:]) -> [String] {
        RangeCheck.violations(in: Data(json.utf8), overrides: overrides).map(\.field)
    }

    @Test("amounts, months, counts, years and other integers each have their range, named by path")
    func kinds() {
        #expect(violations(#"{"amountFen":1000,"termMonths":360,"childrenCount":2,"year":2026,"seq":12}"#).isEmpty)
        #expect(violations(#"{"amountFen":1000000000001}"#) == ["amountFen"])
        #expect(violations(#"{"amountFen":-1}"#) == ["amountFen"])
        #expect(violations(#"{"house":{"priceFen":9223372036854775807}}"#) == ["house.priceFen"])
        #expect(violations(#"{"termMonths":1201}"#) == ["termMonths"])
        #expect(violations(#"{"months":-3}"#) == ["months"])
        #expect(violations(#"{"childrenCount":1000001}"#) == ["childrenCount"])
        #expect(violations(#"{"year":1899}"#) == ["year"])
        #expect(violations(#"{"afterSeq":-9223372036854775808}"#) == ["afterSeq"])
        #expect(violations(#"[{"amountFen":1},{"amountFen":-5}]"#) == ["[1].amountFen"])
    }

    @Test("numbers beyond Int64 and fractions are refused wherever they stand")
    func beyondInt64() {
        #expect(violations(#"{"amountFen":9223372036854775808}"#) == ["amountFen"])
        #expect(violations(#"{"x":1e30}"#) == ["x"])
        #expect(violations(#"{"amountFen":0.5}"#) == ["amountFen"])
    }

    @Test("dates, months and instants outside 1900-2199 are refused; other texts are left alone")
    func dates() {
        #expect(violations(#"{"paidAt":"2026-03-16T10:00:00+08:00","month":"2026-03","on":"2026-03-16"}"#).isEmpty)
        #expect(violations(#"{"paidAt":"1799-12-31T10:00:00+08:00"}"#) == ["paidAt"])
        #expect(violations(#"{"month":"0001-01"}"#) == ["month"])
        #expect(violations(#"{"asOf":"9999-12-31"}"#) == ["asOf"])
        #expect(violations(#"{"months":["2026-01","2200-01"]}"#) == ["months[1]"])
        // Ids that merely start with digits are not dates.
        #expect(violations(#"{"channelTxnId":"1799-12-batch","reference":"0001-01-01x","phone":"139-1234-5678"}"#).isEmpty)
    }

    @Test("a field can be given another range; text that is not JSON is left to the typed decoding")
    func overridesAndNonJSON() {
        #expect(violations(#"{"amountFen":-500}"#, overrides: ["amountFen": InputRange.poolAdjustmentFen]).isEmpty)
        #expect(violations("not json").isEmpty)
    }
}
