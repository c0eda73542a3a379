import ArgumentParser
import AsyncHTTPClient
import Contracts
import Foundation
import Kafka
import Logging
import NIOCore
import Policy
import ServiceRuntime

/// `hpfctl channel-statement deposits|payouts`: plays a payment channel at the end of its day
/// (development stacks): writes its statement from what it saw, signs it with the channel's
/// development key and imports it as a fund officer, then prints the reconciliation report.
///
/// - deposits: the channel's deposits of the day, from the ledger's `contribution-received`
///   events (their `channelTxnId`); `--lost ACCOUNT:FEN` adds one the channel collected and never
///   notified, `--drop TXN` leaves one out.
/// - payouts: the payout instructions of the day that the simulated channel pays (all but the
///   payees ending with its fail suffix), from the channel's own instruction topic, as `hpfctl
///   payment-channel` pays them; `--drop PAYOUT` leaves one out.
struct ChannelStatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel-statement",
        abstract: "Play a channel's end of day: write its signed statement from the events, import it, print the report (对账).",
        discussion: "deposits: the channel's deposits of the day, from the ledger's contribution-received events, imported "
            + "by the contribution service; payouts: the payout instructions of the day the simulated channel paid (all but "
            + "the payees ending with --fail-suffix), imported by the withdrawal service. The statement is signed with the "
            + "channel's development key and imported as a fund officer (development stacks). Exits 1 when the import is refused.")

    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case deposits, payouts
    }

    @Argument(help: "deposits or payouts.")
    var kind: Kind

    @Option(
        help: ArgumentHelp(
            "The channel: " + PaymentChannel.allCases.map(\.rawValue).joined(separator: ", ")
                + " (default: wechat for deposits, bank_card for payouts)."))
    var channel: String?

    @Option(help: ArgumentHelp("The statement's day (default: today, Asia/Shanghai).", valueName: "yyyy-mm-dd"))
    var date: BusinessDate?

    @Option(help: ArgumentHelp("deposits: add a deposit the channel collected and never notified.", valueName: "account:fen"))
    var lost: String?

    @Option(help: ArgumentHelp("Leave out the line with this reference (a channel transaction id, or a payout id).", valueName: "reference"))
    var drop: String?

    @Option(help: "payouts: the payees whose bank account ends with these digits failed (as payment-channel's --fail-suffix).")
    var failSuffix: String = "0000"

    @Option(help: "Also write the statement to this file.")
    var out: String?

    @Option(help: "The service that imports it (default: contribution 8082 for deposits, withdrawal 8084 for payouts).")
    var url: String?

    func validate() throws {
        if let channel, PaymentChannel(rawValue: channel) == nil {
            throw ValidationError("--channel is one of \(PaymentChannel.allCases.map(\.rawValue).joined(separator: ", ")), got '\(channel)'")
        }
        if let lost {
            guard kind == .deposits else { throw ValidationError("--lost is for deposits statements") }
            let parts = lost.split(separator: ":")
            guard parts.count == 2, !parts[0].isEmpty, let amount = Int64(parts[1]), amount > 0 else {
                throw ValidationError("--lost is ACCOUNT:FEN with a positive amount, got '\(lost)'")
            }
        }
        try Checks.digits(failSuffix, "--fail-suffix")
    }

    func run() async throws {
        let channel = self.channel ?? (kind == .deposits ? "wechat" : "bank_card")
        let date = self.date ?? BusinessDate.of(Date())
        let text: String
        switch kind {
        case .deposits:
            var rows = try await Self.depositLines(channel: channel, date: date).filter { $0[0] != drop }
            if let lost {
                let parts = lost.split(separator: ":")
                rows.append([
                    "\(channel)-lost-\(UUID().uuidString.prefix(8).lowercased())", String(parts[0]),
                    Int64(parts[1]).map { String($0) } ?? String(parts[1]), Instant.format(Date()),
                ])
            }
            text = ChannelStatement.render(
                channel: channel, kind: .deposits, date: date,
                columns: ["channel_txn_id", "account_number", "amount_fen", "paid_at"], rows: rows)
        case .payouts:
            let rows = try await Self.payoutLines(date: date, failSuffix: failSuffix).filter { $0[0] != drop }
            text = ChannelStatement.render(
                channel: channel, kind: .payouts, date: date,
                columns: ["payout_id", "channel_ref", "amount_fen", "paid_at"], rows: rows)
        }
        if let out { try text.write(toFile: out, atomically: true, encoding: .utf8) }
        print(text, terminator: "")
        let url = self.url ?? Stack.runURL(kind == .deposits ? "contribution" : "withdrawal")
        let (status, report) = try await Self.submit(text, channel: channel, url: url)
        print(report)
        print("(HTTP \(status))")
        if status >= 400 { throw CommandError("the import was refused") }
    }

    /// Imports the statement as a fund officer, signed with the channel's development key.
    static func submit(_ text: String, channel: String, url: String) async throws -> (status: UInt, report: String) {
        var request = HTTPClientRequest(url: "\(url)/v1/channel-statements")
        request.method = .POST
        request.headers.add(name: "content-type", value: "text/csv")
        for (name, value) in Credential.officer.headers(method: "POST", url: request.url, body: text) { request.headers.add(name: name, value: value) }
        for (name, value) in StatementSignature.developmentHeaders(channel: channel, bytes: Array(text.utf8)) { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: text))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (UInt(response.status.code), String(buffer: body))
    }

    static func depositLines(channel: String, date: BusinessDate) async throws -> [[String]] {
        try await Self.events(on: Topic.contributionEvents.name, type: .contributionReceived, ContributionReceived.self).compactMap { deposit in
            guard deposit.channel?.rawValue == channel, deposit.paidOn == date, let txn = deposit.channelTxnId else { return nil }
            return [txn, deposit.accountNumber, String(deposit.amountFen), deposit.paidAt]
        }
    }

    static func payoutLines(date: BusinessDate, failSuffix: String) async throws -> [[String]] {
        try await Self.events(on: Topic.payoutInstructions.name, type: .payoutInstruction, PayoutRequested.self, keepingTime: true).compactMap { payout, time in
            guard BusinessDate.of(time) == date, !payout.payee.bankAccount.hasSuffix(failSuffix) else { return nil }
            return [payout.payoutId, "sim-\(payout.payoutId)", String(payout.amountFen), Instant.format(time)]
        }
    }

    static func events<P: Codable & Sendable>(on topic: String, type: EventType, _ payload: P.Type) async throws -> [P] {
        try await Self.events(on: topic, type: type, payload, keepingTime: true).map(\.0)
    }

    /// Every event of `type` on `topic` from the beginning: read until 2 s pass with nothing new
    /// once the group has joined (at most 20 s for the first message).
    static func events<P: Codable & Sendable>(on topic: String, type: EventType, _ payload: P.Type, keepingTime: Bool) async throws -> [(P, Date)] {
        var logger = Logger(label: "hpfctl")
        logger.logLevel = .error
        let consumer = try KafkaConsumer(
            configuration: try Environment.consumer(
                groupID: "hpfctl.statement.\(UUID().uuidString.prefix(8))",
                clientID: "hpfctl"), topics: [topic], logger: logger)
        var found: [(P, Date)] = []
        let started = Date()
        var last: Date?
        while Date().timeIntervalSince(last ?? started) < (last == nil ? 20 : 2) {
            let messages = try await consumer.poll(maxMessages: 1000, timeoutMs: 200)
            if !messages.isEmpty { last = Date() }
            for message in messages where (try? CloudEventCoding.header(from: message.value).type) == type.rawValue {
                if let event = try? CloudEventCoding.decode(P.self, from: message.value) { found.append((event.data, Instant.parse(event.time) ?? Date())) }
            }
        }
        await consumer.close()
        return found
    }
}
