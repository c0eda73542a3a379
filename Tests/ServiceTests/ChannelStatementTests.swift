import Contracts
import Foundation
import Policy
import ServiceRuntime
import Testing

/// The statement format (docs/RECONCILIATION.md) read strictly, without a database: every
/// error is a 400 `malformed_statement` naming its line, never a crash or a partial import.
@Suite("Channel statements: the file format")
struct ChannelStatementTests {
    static let columns = ["channel_txn_id", "account_number", "amount_fen", "paid_at"]
    static let date = BusinessDate("2026-03-16")!
    static let now = Instant.parse("2026-03-17T09:00:00+08:00")!

    static func text(rows: [String], count: Int? = nil, total: String? = nil, header: [String]? = nil) -> String {
        let head = header ?? ["#hpf-channel-statement=1", "#channel=wechat", "#kind=deposits", "#date=2026-03-16"]
        let sum = rows.compactMap { Int64($0.split(separator: ",", omittingEmptySubsequences: false).dropFirst(2).first ?? "") }.reduce(0, +)
        return (head + [columns.joined(separator: ",")] + rows + ["#count=\(count ?? rows.count)", "#total_fen=\(total ?? String(sum))"])
            .joined(separator: "\n") + "\n"
    }

    static func parse(_ text: String) throws -> ChannelStatement {
        try ChannelStatement.parse(Array(text.utf8), kind: .deposits, columns: columns, now: now)
    }

    /// The problem a text is refused with, and the messages of the lines it names.
    static func refusal(_ text: String) -> (code: String?, errors: [String]) {
        do {
            _ = try parse(text)
            return (nil, [])
        } catch let problem as Problem {
            return (problem.code, problem.errors.map { "\($0.field): \($0.message)" })
        } catch {
            return ("\(error)", [])
        }
    }

    static let good = "wx-1,3207060000000123,50000,2026-03-16T10:00:00+08:00"

    @Test("a statement reads to its lines, total and digest; CRLF reads the same; render and parse agree")
    func reads() throws {
        let text = Self.text(rows: [Self.good, "wx-2,3207060000000124,1,2026-03-15T23:59:59+08:00"])
        let statement = try Self.parse(text)
        #expect(statement.channel == .wechat && statement.kind == .deposits && statement.date == Self.date)
        #expect(statement.rows.count == 2 && statement.totalFen == 50_001 && statement.rows[1].line == 7)
        #expect(statement.rows[0]["account_number"] == "3207060000000123" && statement.rows[0].amountFen == 50_000)
        #expect(statement.digest.count == 64)
        let crlf = try Self.parse(text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(crlf.rows.count == 2 && crlf.totalFen == 50_001 && crlf.digest != statement.digest)
        let rendered = ChannelStatement.render(
            channel: "wechat", kind: .deposits, date: Self.date, columns: Self.columns,
            rows: [["wx-1", "3207060000000123", "50000", "2026-03-16T10:00:00+08:00"]])
        #expect(try Self.parse(rendered).totalFen == 50_000)
    }

    @Test(
        "each kind of bad file is a 400 that names its line",
        arguments: [
            ("no version", text(rows: [good], header: ["#channel=wechat", "#kind=deposits", "#date=2026-03-16"]), "hpf-channel-statement"),
            ("unknown channel", text(rows: [good], header: ["#hpf-channel-statement=1", "#channel=paypal", "#kind=deposits", "#date=2026-03-16"]), "#channel"),
            (
                "payouts sent as deposits", text(rows: [good], header: ["#hpf-channel-statement=1", "#channel=wechat", "#kind=payouts", "#date=2026-03-16"]),
                "#kind"
            ),
            ("bad date", text(rows: [good], header: ["#hpf-channel-statement=1", "#channel=wechat", "#kind=deposits", "#date=2026-02-30"]), "#date"),
            (
                "metadata twice",
                text(rows: [good], header: ["#hpf-channel-statement=1", "#channel=wechat", "#channel=alipay", "#kind=deposits", "#date=2026-03-16"]), "twice"
            ),
            ("wrong column line", text(rows: [good]).replacingOccurrences(of: "channel_txn_id,", with: "txn,"), "column line"),
            ("missing field", text(rows: ["wx-1,3207060000000123,50000"]), "line 6: 4 fields expected, 3 found"),
            ("extra field", text(rows: [good + ",x"]), "line 6: 4 fields expected, 5 found"),
            ("quoted field", text(rows: [#""wx-1",3207060000000123,50000,2026-03-16T10:00:00+08:00"#]), "line 6: each field"),
            ("empty field", text(rows: [",3207060000000123,50000,2026-03-16T10:00:00+08:00"]), "line 6: each field"),
            ("zero amount", text(rows: ["wx-1,3207060000000123,0,2026-03-16T10:00:00+08:00"]), "line 6: amount_fen"),
            ("negative amount", text(rows: ["wx-1,3207060000000123,-5,2026-03-16T10:00:00+08:00"]), "line 6: amount_fen"),
            ("amount in yuan", text(rows: ["wx-1,3207060000000123,500.00,2026-03-16T10:00:00+08:00"]), "line 6: amount_fen"),
            ("huge amount", text(rows: ["wx-1,3207060000000123,99999999999999999999,2026-03-16T10:00:00+08:00"]), "line 6: amount_fen"),
            ("bad time", text(rows: ["wx-1,3207060000000123,50000,yesterday"]), "line 6: paid_at"),
            ("year 1", text(rows: ["wx-1,3207060000000123,50000,0001-01-01T00:00:00Z"]), "line 6: paid_at must be"),
            ("amount with a leading zero", text(rows: ["wx-1,3207060000000123,050000,2026-03-16T10:00:00+08:00"], total: "50000"), "line 6: amount_fen"),
            ("amount with a sign", text(rows: ["wx-1,3207060000000123,+50000,2026-03-16T10:00:00+08:00"], total: "50000"), "line 6: amount_fen"),
            ("count with a sign", text(rows: [good]).replacingOccurrences(of: "#count=1", with: "#count=+1"), "must end with #count"),
            ("date with a sign", text(rows: [good], header: ["#hpf-channel-statement=1", "#channel=wechat", "#kind=deposits", "#date=2026-+3-16"]), "#date"),
            ("paid after the day", text(rows: ["wx-1,3207060000000123,50000,2026-03-17T00:00:01+08:00"]), "line 6: paid_at is after"),
            ("paid in the future", text(rows: ["wx-1,3207060000000123,50000,2027-01-01T00:00:00+08:00"]), "line 6: paid_at is in the future"),
            ("no lines", text(rows: []), "at least one line"),
            ("cut short", text(rows: [good], count: 2), "line 7: #count is 2"),
            ("wrong total", text(rows: [good], total: "50001"), "line 8: #total_fen is 50001"),
            ("no trailer", text(rows: [good]).replacingOccurrences(of: "#count=1\n#total_fen=50000\n", with: ""), "must end with #count"),
            ("data after the trailer", text(rows: [good]) + good + "\n", "only #count"),
        ])
    func refuses(_ name: String, _ text: String, _ expected: String) {
        let (code, errors) = Self.refusal(text)
        #expect(code == "malformed_statement", "\(name): \(code ?? "accepted")")
        #expect(errors.contains { $0.contains(expected) }, "\(name): \(errors)")
    }

    @Test("a huge unknown key is not echoed back whole")
    func longKey() {
        let key = String(repeating: "k", count: 100_000)
        let (code, errors) = Self.refusal(
            Self.text(
                rows: [Self.good],
                header: [
                    "#hpf-channel-statement=1", "#channel=wechat", "#kind=deposits",
                    "#date=2026-03-16", "#\(key)=1",
                ]))
        #expect(code == "malformed_statement" && errors.allSatisfy { $0.count < 200 })
    }

    @Test("instants are read from 1900 to 2199 only, and no instant traps the business date")
    func instantBounds() {
        #expect(Instant.parse("0001-01-01T00:00:00Z") == nil && Instant.parse("2200-01-01T00:00:00Z") == nil)
        #expect(Instant.parse("1900-01-01T00:00:00Z") != nil && Instant.parse("2199-12-31T15:59:59Z") != nil)
        #expect(BusinessDate.of(Date(timeIntervalSince1970: -70_000_000_000)) == BusinessDate("1800-01-01"))
        #expect(BusinessDate.of(Date(timeIntervalSince1970: 300_000_000_000)) == BusinessDate("9999-12-31"))
        #expect(BusinessDate("2026-+3-16") == nil && BusinessDate("+026-03-16") == nil)
    }

    @Test("bytes that are not UTF-8 are refused, and a refusal lists at most 20 lines")
    func bytes() {
        #expect(throws: Problem.self) { try ChannelStatement.parse([0x23, 0xFF, 0xFE, 0x0A], kind: .deposits, columns: Self.columns, now: Self.now) }
        let many = Self.text(rows: Array(repeating: "wx-1,3207060000000123,0,2026-03-16T10:00:00+08:00", count: 50))
        let (code, errors) = Self.refusal(many)
        #expect(code == "malformed_statement" && errors.count == 20)
    }
}

@Suite("Instants written by arithmetic")
struct InstantFormatTests {
    /// On whole seconds: the formatter rounds a fraction to the millisecond first (so 48.9996 s
    /// reads 49), where `formatSeconds` keeps the second it happened in.
    @Test("whole seconds as ISO8601DateFormatter writes them, across centuries, leap days and the epoch")
    func sameAsTheFormatter() {
        let formatter = ISO8601DateFormatter()
        var samples: [Double] = [0, -1, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, -2_208_988_800, 7_258_118_399]
        for _ in 0..<2_000 { samples.append(Double(Int64.random(in: -2_208_988_800...7_258_118_399))) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Instant.formatSeconds(date) == formatter.string(from: date), "\(seconds)")
        }
        #expect(Instant.formatSeconds(Date(timeIntervalSince1970: 1_780_000_000.9996)) == "2026-05-28T20:26:40Z")
    }
}

@Suite("Hexadecimal by table")
struct HexTests {
    @Test("the same text as printf's %02x for every byte")
    func sameAsPrintf() {
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.encode(all) == all.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.encode([]) == "")
    }
}
