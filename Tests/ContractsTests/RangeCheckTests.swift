import Foundation
import Testing

@testable import Contracts

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

    @Test("the one-pass scan finds exactly what decoding the document finds, and leaves escapes and fractions to it")
    func scanAgreesWithDecoding() {
        var generator = SystemRandomNumberGenerator()
        let keys = ["amountFen", "termMonths", "childrenCount", "year", "seq", "paidAt", "month", "name", "items", "house"]
        let integers: [Int64] = [0, 1, -1, 1_200, 1_201, 2026, 1899, 1_000_000_000_000, 1_000_000_000_001, -1_000_000_000_000_001, .max, .min]
        let texts = ["2026-03-16", "1799-12-31T10:00:00Z", "2200-01", "1799-12-batch", "陈", ""]
        func value(depth: Int) -> String {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator) {
            case 0: return String(integers.randomElement(using: &generator)!)
            case 1: return "\"\(texts.randomElement(using: &generator)!)\""
            case 2: return ["true", "false", "null"].randomElement(using: &generator)!
            case 3: return String(integers.randomElement(using: &generator)!)
            case 4: return "[" + (0..<Int.random(in: 0...3, using: &generator)).map { _ in value(depth: depth + 1) }.joined(separator: ",") + "]"
            default:
                let members = keys.shuffled(using: &generator).prefix(Int.random(in: 0...4, using: &generator))
                return "{ " + members.map { "\"\($0)\" : \(value(depth: depth + 1))" }.joined(separator: ",\n") + "}"
            }
        }
        var scanned = 0
        for _ in 0..<2_000 {
            let document = Data(value(depth: 0).utf8)
            let decoded = RangeCheck.decodedViolations(in: document).map(\.description).sorted()
            guard let fast = document.withUnsafeBytes({ RangeScan.violations(in: $0, overrides: [:]) }) else { continue }
            scanned += 1
            #expect(fast.map(\.description).sorted() == decoded, "\(String(decoding: document, as: UTF8.self))")
        }
        #expect(scanned == 2_000)
        // Left to the decoder, which still finds them.
        for document in [
            #"{"amountFen":-1,"amountFen":1}"#, #"{"a":{"x":1,"x":2}}"#, #"{"amountFen":0.5}"#, #"{"paidAt":"\u0031799-01-01"}"#, #"{"amountFen":1e3}"#,
            #"{"seq":01}"#, #"{"a":1"#,
        ] {
            #expect(Data(document.utf8).withUnsafeBytes({ RangeScan.violations(in: $0, overrides: [:]) }) == nil, "\(document)")
        }
        #expect(violations(#"{"paidAt":"\u0031799-01-01"}"#) == ["paidAt"])
    }
}
