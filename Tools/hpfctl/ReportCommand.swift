import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import ServiceRuntime

/// `hpfctl report monthly`: the example consumer of docs/CONSUMERS.md, "monthly contributions by
/// county and subsidy spend" from the topics alone, following the guide's rules: its own group,
/// signatures checked, repeats skipped by CloudEvents id, no order assumed between topics (the
/// county table and the deposits are joined once the read is done), months from the business
/// dates, only the fields it uses decoded (a field or enum value added later cannot break it).
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports built from the event stream alone (docs/CONSUMERS.md).",
        subcommands: [Monthly.self])

    struct Monthly: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "monthly",
            abstract: "Deposits by month and county, and subsidy spend by month, from the topics.",
            discussion: "Reads the enrolment, contribution and subsidy topics with one consumer: with a fresh group of its own "
                + "(--from-beginning, the default) every event the topics still hold; with --group G from where G left off "
                + "(offsets are committed as events are applied), which gives an increment, not a complete table.")

        @Flag(help: "Read every event the topics still hold, with a fresh group (the default without --group).")
        var fromBeginning = false

        @Option(help: "The consumer group, resumed where it left off (e.g. hpf.analytics.<team>.monthly-report).")
        var group: String?

        @Option(help: "Seconds to read, the group's join (a few seconds) included.")
        var seconds: Int = 12

        @Flag(help: "Print the figures as one JSON object.")
        var json = false

        func validate() throws {
            try Checks.within(1...3_600, seconds, "--seconds")
            if fromBeginning, group != nil {
                throw ValidationError("--group resumes where the group left off; --from-beginning reads with a fresh group: give one of them")
            }
            if let group, group.isEmpty || group.count > 200 { throw ValidationError("--group: 1 to 200 characters") }
        }

        func run() async throws {
            var logger = Logger(label: "hpfctl")
            logger.logLevel = .error
            let topics = [Topic.enrolmentEvents, .contributionEvents, .subsidyEvents].map(\.name)
            let groupID = group ?? "hpfctl.report.\(UUID().uuidString.prefix(8).lowercased())"
            let consumer = try KafkaConsumer(
                configuration: try Environment.consumer(groupID: groupID, clientID: "hpfctl-report"),
                topics: topics, logger: logger)
            // The writers' keys from HPF_EVENT_KEYS, as the services take them; else the development keys.
            let configured = try Environment.variables["HPF_EVENT_KEYS"].map(EventKeyring.parse)
            if configured == nil, Environment.variables["HPF_ENV"] != "development" {
                Environment.warn(
                    "report: HPF_EVENT_KEYS is not set: records are checked with the public development keys, "
                        + "which only a development stack's writers use (anyone can sign with them)")
            }
            let keys = configured ?? EventKeyring.development
            var report = MonthlyReport(keyring: EventKeyring(entries: keys))
            let deadline = Date().addingTimeInterval(Double(seconds))
            while Date() < deadline {
                for message in try await consumer.poll(maxMessages: 1000, timeoutMs: 200) {
                    report.take(message)
                    try consumer.storeOffset(message)
                }
            }
            try? await consumer.commitStored()
            await consumer.close()
            print(json ? try report.json() : report.text())
        }
    }
}

/// The report's state: what the events said, joined when they have all been read.
struct MonthlyReport {
    let keyring: EventKeyring
    var county: [String: String] = [:]
    var deposits: [(account: String, month: String, fen: Int64)] = []
    var grants: [String: Int64] = [:]
    var socialInsurance: [String: Int64] = [:]
    var seen: Set<String> = []
    var events = 0, duplicates = 0, notVerified = 0
    /// Records whose amount is out of its range or would overflow a total (no genuine amount can): left out.
    var refused = 0

    init(keyring: EventKeyring) { self.keyring = keyring }

    /// Only the fields the report uses: a tolerant reader (docs/CONSUMERS.md, versioning).
    struct Opened: Decodable { var accountNumber: String; var county: String }
    struct Deposit: Decodable { var accountNumber: String; var amountFen: Int64; var paidOn: String }
    struct Granted: Decodable { var amountFen: Int64; var grantedOn: String }
    struct Decided: Decodable { var approved: Bool; var subsidyFen: Int64; var month: String }

    mutating func take(_ message: KafkaMessage) {
        guard keyring.rejection(of: message) == nil else { notVerified += 1; return }
        guard let header = try? CloudEventCoding.header(from: message.value) else { return }
        events += 1
        // At least once: a record the relay sent twice carries the same id.
        guard seen.insert(header.id).inserted else { duplicates += 1; return }
        switch header.type {
        case EventType.accountOpened.rawValue:
            if let opened = decode(Opened.self, message) { county[opened.accountNumber] = opened.county }
        case EventType.contributionReceived.rawValue:
            if let deposit = decode(Deposit.self, message) {
                if deposit.amountFen > 0, InputRange.amountFen.contains(deposit.amountFen) {
                    deposits.append((deposit.accountNumber, String(deposit.paidOn.prefix(7)), deposit.amountFen))
                } else {
                    refused += 1
                }
            }
        case EventType.subsidyGranted.rawValue:
            if let granted = decode(Granted.self, message) {
                if !Self.add(granted.amountFen, to: &grants, String(granted.grantedOn.prefix(7))) { refused += 1 }
            }
        case EventType.socialInsuranceSubsidyDecided.rawValue:
            if let decided = decode(Decided.self, message), decided.approved {
                if !Self.add(decided.subsidyFen, to: &socialInsurance, decided.month) { refused += 1 }
            }
        default:
            break  // a type the report does not use, or one added after it was written
        }
    }

    /// The envelope's `data` only, as `T`.
    struct Envelope<T: Decodable>: Decodable { var data: T }

    /// Amounts come from outside: added with the overflow checked, never trapping.
    /// False (and nothing added) for an amount no grant could have.
    static func add(_ fen: Int64, to totals: inout [String: Int64], _ month: String) -> Bool {
        let (sum, overflow) = totals[month, default: 0].addingReportingOverflow(fen)
        guard !overflow, InputRange.amountFen.contains(fen) else { return false }
        totals[month] = sum
        return true
    }

    func decode<T: Decodable>(_ type: T.Type, _ message: KafkaMessage) -> T? {
        try? JSONDecoder().decode(Envelope<T>.self, from: Data(message.value)).data
    }

    struct Row: Encodable, Comparable {
        var month: String
        var county: String
        var deposits: Int
        var contributionFen: Int64
        static func < (a: Row, b: Row) -> Bool { (a.month, a.county) < (b.month, b.county) }
    }

    struct SpendRow: Encodable {
        var month: String
        var subsidyFen: Int64
        var socialInsuranceFen: Int64
        var totalFen: Int64
    }

    /// The join: deposits by month and the county of their account (`unknown` when its opening was not read).
    var rows: [Row] {
        var cells: [String: Row] = [:]
        for deposit in deposits {
            let place = county[deposit.account] ?? "unknown"
            let key = "\(deposit.month) \(place)"
            var row = cells[key] ?? Row(month: deposit.month, county: place, deposits: 0, contributionFen: 0)
            row.deposits += 1
            let (sum, overflow) = row.contributionFen.addingReportingOverflow(deposit.fen)
            row.contributionFen = overflow ? Int64.max : sum  // never in practice: shown as the ceiling, not a trap
            cells[key] = row
        }
        return cells.values.sorted()
    }

    var spend: [SpendRow] {
        Set(grants.keys).union(socialInsurance.keys).sorted().map { month in
            let grant = grants[month] ?? 0, insurance = socialInsurance[month] ?? 0
            let (total, overflow) = grant.addingReportingOverflow(insurance)
            return SpendRow(month: month, subsidyFen: grant, socialInsuranceFen: insurance, totalFen: overflow ? Int64.max : total)
        }
    }

    var withoutCounty: Int { deposits.filter { county[$0.account] == nil }.count }

    func text() -> String {
        let deposits = Table.render(
            [["month", "county", "deposits", "contributionFen"]]
                + rows.map { [$0.month, $0.county, "\($0.deposits)", "\($0.contributionFen)"] })
        let spend = Table.render(
            [["month", "subsidyFen", "socialInsuranceFen", "totalFen"]]
                + self.spend.map { [$0.month, "\($0.subsidyFen)", "\($0.socialInsuranceFen)", "\($0.totalFen)"] })
        return deposits + "\n\n" + spend + "\n\nevents \(events), duplicates skipped \(duplicates), not verified \(notVerified), "
            + "deposits without a county \(withoutCounty), refused amounts \(refused)"
    }

    func json() throws -> String {
        struct Figures: Encodable {
            var contributions: [Row]
            var subsidies: [SpendRow]
            var events: Int
            var duplicates: Int
            var notVerified: Int
            var depositsWithoutCounty: Int
            var refusedAmounts: Int
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let figures = Figures(
            contributions: rows, subsidies: spend, events: events, duplicates: duplicates, notVerified: notVerified,
            depositsWithoutCounty: withoutCounty, refusedAmounts: refused)
        return String(decoding: try encoder.encode(figures), as: UTF8.self)
    }
}
