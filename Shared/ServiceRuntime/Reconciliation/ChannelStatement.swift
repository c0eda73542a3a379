import Contracts
import Crypto
import Foundation
import Hummingbird
import Policy

/// A payment channel's daily statement (对账单), read strictly: one CSV file per channel, kind
/// and day, the way Alipay's bill files put their metadata on `#` lines (docs/RECONCILIATION.md):
///
///     #hpf-channel-statement=1
///     #channel=wechat
///     #kind=deposits
///     #date=2026-03-16
///     channel_txn_id,account_number,amount_fen,paid_at
///     wx-4200001,3207060000000123,50000,2026-03-16T10:00:00+08:00
///     #count=1
///     #total_fen=50000
///
/// The trailer's count and total catch a file cut short in transit; a field holds printable
/// ASCII with no comma or quote, so no CSV quoting is needed. Every error names its line.
public struct ChannelStatement: Sendable {
    public enum Kind: String, Sendable, Codable {
        /// Deposits the channel collected (代收), reconciled by the ledger.
        case deposits
        /// Payouts the channel made (代付), reconciled by the withdrawal service.
        case payouts
    }

    /// One data line: its fields by column name, with the two every kind has already read.
    public struct Row: Sendable {
        /// The line's number in the file (1-based), for errors and the report.
        public let line: Int
        public let fields: [String: String]
        public let amountFen: Fen
        public let paidAt: Date
        public subscript(_ column: String) -> String { fields[column] ?? "" }
    }

    public let channel: PaymentChannel
    public let kind: Kind
    public let date: BusinessDate
    public let rows: [Row]
    public let totalFen: Fen
    /// SHA-256 of the exact bytes, hex: the same file imported again is recognised by it.
    public let digest: String

    public static let formatVersion = "1"
    /// How many line errors a refusal lists (the rest are counted).
    static let errorsListed = 20
    static let maxFieldLength = 128

    /// Reads `bytes` as a statement of `kind` whose data lines have exactly `columns` (which
    /// include `amount_fen` and `paid_at`). `now` bounds `paid_at` (a channel's clock may be
    /// `ChannelSignature.windowSeconds` ahead).
    public static func parse(_ bytes: [UInt8], kind: Kind, columns: [String], now: Date) throws -> ChannelStatement {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw malformed("the statement is not UTF-8 text") }
        // "\r\n" is one Character in Swift: both line ends are separators.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.last?.isEmpty == true { lines.removeLast() }
        var errors: [Problem.FieldError] = []
        var errorCount = 0
        func fail(_ line: Int, _ message: String) {
            errorCount += 1
            if errors.count < errorsListed { errors.append(.init(field: "line \(line)", message: message)) }
        }

        var index = 0
        var header: [String: String] = [:]
        while index < lines.count, lines[index].hasPrefix("#") {
            guard let (key, value) = metadata(lines[index]) else { fail(index + 1, "a metadata line is #key=value"); index += 1; continue }
            if header.updateValue(value, forKey: key) != nil { fail(index + 1, "\(key.prefix(64)) is given twice") }
            index += 1
        }
        guard header["hpf-channel-statement"] == formatVersion else {
            fail(1, "the statement must begin with #hpf-channel-statement=\(formatVersion)")
            throw malformed("the statement is not an hpf-channel-statement version \(formatVersion)", errors: errors, more: errorCount - errors.count)
        }
        for key in header.keys.sorted() where !["hpf-channel-statement", "channel", "kind", "date"].contains(key) {
            fail(1, "unknown metadata \(key.prefix(64))")
        }
        let channel = header["channel"].flatMap(PaymentChannel.init(rawValue:))
        if channel == nil { fail(1, "#channel must be one of \(PaymentChannel.allCases.map(\.rawValue).joined(separator: ", "))") }
        if header["kind"] != kind.rawValue { fail(1, "#kind must be \(kind.rawValue) here") }
        let date = header["date"].flatMap(BusinessDate.init)
        if date == nil { fail(1, "#date must be a date (YYYY-MM-DD)") }

        guard index < lines.count, lines[index] == columns.joined(separator: ",") else {
            fail(index + 1, "the column line must be \(columns.joined(separator: ","))")
            throw malformed("the statement's column line is missing or wrong", errors: errors, more: errorCount - errors.count)
        }
        index += 1

        var rows: [Row] = []
        var sum: Fen = 0
        var sumOverflows = false
        while index < lines.count, !lines[index].hasPrefix("#") {
            let number = index + 1
            let values = lines[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            index += 1
            guard values.count == columns.count else { fail(number, "\(columns.count) fields expected, \(values.count) found"); continue }
            guard values.allSatisfy(validField) else {
                fail(number, "each field is 1 to \(maxFieldLength) printable ASCII characters, without quotes")
                continue
            }
            let fields = Dictionary(uniqueKeysWithValues: zip(columns, values))
            guard let amount = fields["amount_fen"].flatMap(wholeNumber), amount > 0, amount <= InputRange.amountFen.upperBound else {
                fail(number, "amount_fen must be a whole number of fen from 1 to \(InputRange.amountFen.upperBound)")
                continue
            }
            guard let paidAt = fields["paid_at"].flatMap(Instant.parse) else { fail(number, "paid_at must be an RFC 3339 instant"); continue }
            if paidAt.timeIntervalSince(now) > TimeInterval(ChannelSignature.windowSeconds) { fail(number, "paid_at is in the future"); continue }
            if let date, BusinessDate.of(paidAt) > date { fail(number, "paid_at is after the statement's date \(date)"); continue }
            let (next, overflow) = sum.addingReportingOverflow(amount)
            sum = next
            sumOverflows = sumOverflows || overflow
            rows.append(Row(line: number, fields: fields, amountFen: amount, paidAt: paidAt))
        }
        if rows.isEmpty && errorCount == 0 { fail(index + 1, "a statement lists at least one line") }

        var trailer: [String: String] = [:]
        var trailerLine: [String: Int] = [:]
        while index < lines.count {
            if let (key, value) = metadata(lines[index]), ["count", "total_fen"].contains(key), trailer[key] == nil {
                trailer[key] = value
                trailerLine[key] = index + 1
            } else {
                fail(index + 1, "only #count=N and #total_fen=N may follow the lines, once each")
            }
            index += 1
        }
        if let count = trailer["count"].flatMap(wholeNumber) {
            if errorCount == 0, count != Int64(rows.count) {
                fail(trailerLine["count"] ?? lines.count, "#count is \(count) but \(rows.count) lines were read (the file may be cut short)")
            }
        } else {
            fail(lines.count, "the statement must end with #count=N and #total_fen=N")
        }
        if let total = trailer["total_fen"].flatMap(wholeNumber) {
            if errorCount == 0, sumOverflows || total != sum {
                fail(trailerLine["total_fen"] ?? lines.count, "#total_fen is \(total) but the lines add up to \(sumOverflows ? "more than that" : "\(sum)")")
            }
        } else if trailer["count"] != nil {
            fail(lines.count, "the statement must end with #total_fen=N")
        }
        guard errorCount == 0, let channel, let date else {
            throw malformed("the statement has \(errorCount) error\(errorCount == 1 ? "" : "s")", errors: errors, more: errorCount - errors.count)
        }
        let digest = Hex.encode(SHA256.hash(data: bytes))
        return ChannelStatement(channel: channel, kind: kind, date: date, rows: rows, totalFen: sum, digest: digest)
    }

    /// A statement's text as a channel issues it (for hpfctl's simulated channel and tests):
    /// `rows` hold the values of `columns` in order, the amount under `amount_fen`.
    public static func render(channel: String, kind: Kind, date: BusinessDate, columns: [String], rows: [[String]]) -> String {
        let amount = columns.firstIndex(of: "amount_fen")
        let total = rows.reduce(Int64(0)) { sum, row in sum &+ (amount.flatMap { Int64(row[$0]) } ?? 0) }
        var lines = [
            "#hpf-channel-statement=\(formatVersion)", "#channel=\(channel)", "#kind=\(kind.rawValue)", "#date=\(date)",
            columns.joined(separator: ","),
        ]
        lines += rows.map { $0.joined(separator: ",") }
        lines += ["#count=\(rows.count)", "#total_fen=\(total)"]
        return lines.joined(separator: "\n") + "\n"
    }

    static func metadata(_ line: Substring) -> (String, String)? {
        guard line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { return nil }
        let key = String(line[line.index(after: line.startIndex)..<equals])
        let value = String(line[line.index(after: equals)...])
        guard !key.isEmpty, !value.isEmpty, value.count <= maxFieldLength else { return nil }
        return (key, value)
    }

    /// A whole number written one way only: digits, no sign, no leading zero, at most 18 digits
    /// (so the same amount always has the same bytes, and the digest recognises the file).
    static func wholeNumber(_ text: String) -> Int64? {
        guard (1...18).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            text == "0" || !text.hasPrefix("0")
        else { return nil }
        return Int64(text)
    }

    static func validField(_ value: String) -> Bool {
        (1...maxFieldLength).contains(value.utf8.count) && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }
    }

    static func malformed(_ detail: String, errors: [Problem.FieldError] = [], more: Int = 0) -> Problem {
        Problem(
            .badRequest, code: "malformed_statement", title: "Malformed statement",
            detail: more > 0 ? "\(detail) (the first \(errors.count) are listed)" : detail, errors: errors)
    }
}
