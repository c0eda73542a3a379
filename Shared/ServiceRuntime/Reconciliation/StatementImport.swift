import Contracts
import Foundation
import Hummingbird
import Policy

/// A service's half of reconciliation: how its lines read and match, and what it holds for the
/// statement's day that no statement listed.
public protocol StatementReconciler: Sendable {
    static var kind: ChannelStatement.Kind { get }
    /// The data columns, in order; they include `amount_fen` and `paid_at`.
    static var columns: [String] { get }
    /// The column naming what a line is about (unique within a statement).
    static var referenceColumn: String { get }
    static var eventType: EventType { get }
    /// The `*_not_in_statement` kind a later listing clears.
    static var unlistedKind: DiscrepancyKind { get }
    /// Why a line's own fields are wrong (beyond the amount and time every kind checks), or nil.
    func check(_ row: ChannelStatement.Row) -> String?
    /// Reconciles every line: matched lines return nothing; the rest raise a discrepancy through
    /// `session` (posting or settling with it where the line proves money moved).
    func reconcile(_ session: StatementBook.Session) async throws -> [StatementReport.Item]
    /// Raises a discrepancy for what we hold for the statement's channel and day that no
    /// statement of the channel has listed.
    func unlisted(_ session: StatementBook.Session) async throws -> [StatementReport.Item]
}

/// `POST /v1/channel-statements` (fund officers): the import route, the same on each reconciling
/// service. The body is the statement as the channel issued it (`text/csv`), signed by the
/// channel (`StatementSignature`). Importing the same bytes again answers the first report (200)
/// and changes nothing; a corrected statement for the same day is another file, whose lines
/// are each reconciled once (every step is idempotent per line). `GET /v1/channel-statements/{id}`
/// answers a report again.
public struct StatementImport<Reconciler: StatementReconciler>: Sendable {
    let runtime: ServiceRuntime
    let reconciler: Reconciler

    public init(runtime: ServiceRuntime, reconciler: Reconciler) {
        self.runtime = runtime
        self.reconciler = reconciler
    }

    @Sendable public func importStatement(_ request: Request, context: HPFRequestContext) async throws -> Response {
        if let contentType = request.headers[.contentType],
            contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() != "text/csv"
        {
            throw Problem(
                .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
                detail: "send the statement as text/csv, exactly as the channel issued it")
        }
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: HTTPJSON.maxBodyBytes).readableBytesView)
        } catch {
            throw Problem(
                .contentTooLarge, code: "body_too_large", title: "Body too large",
                detail: "a statement is at most \(HTTPJSON.maxBodyBytes) bytes; a channel splits a larger day into several files")
        }
        let now = runtime.clock.now
        let statement = try ChannelStatement.parse(bytes, kind: Reconciler.kind, columns: Reconciler.columns, now: now)
        try checkLines(statement)
        if statement.date > runtime.clock.today {
            throw Problem.rule("statement_date_in_future", "the statement is for \(statement.date), after today")
        }
        let keyId = try await StatementSignature.verify(
            channel: statement.channel, headers: request.headers, bytes: bytes,
            registry: runtime.access.channels)
        context.audit.noteAccount("channel:\(statement.channel.rawValue)", checked: false)
        if let first = try await StatementBook.report(digest: statement.digest, runtime: runtime) {
            return try Self.response(.ok, first)
        }
        return try await StatementBook.exclusively(digest: statement.digest, runtime: runtime) { statementId in
            // An import of the same bytes that held the lock before us has finished it.
            if let first = try await StatementBook.report(digest: statement.digest, runtime: runtime) {
                return try Self.response(.ok, first)
            }
            return try await reconcile(statement, statementId: statementId, keyId: keyId, now: now, context: context)
        }
    }

    private func reconcile(
        _ statement: ChannelStatement, statementId: UUID, keyId: String, now: Date,
        context: HPFRequestContext
    ) async throws -> Response {
        let session = StatementBook.Session(statement: statement, statementId: statementId, eventType: Reconciler.eventType, runtime: runtime)
        let references = statement.rows.map { $0[Reconciler.referenceColumn] }
        let cleared = try await StatementBook.list(references, session: session, clearing: Reconciler.unlistedKind)
        let found = try await reconciler.reconcile(session)
        let unlisted = try await reconciler.unlisted(session)
        let discrepancies = found + unlisted
        let report = StatementReport(
            statementId: session.statementId.uuidString.lowercased(), channel: statement.channel, kind: Reconciler.kind,
            statementDate: statement.date, digest: statement.digest, keyId: keyId, importedAt: Instant.format(now),
            importedBy: context.caller?.subject ?? "unknown", lines: statement.rows.count, totalFen: statement.totalFen,
            matched: statement.rows.count - found.count, posted: discrepancies.count { $0.resolution == .posted },
            settled: discrepancies.count { $0.resolution == .settled }, flagged: discrepancies.count { $0.resolution == .flagged },
            clearedEarlierFlags: cleared, discrepancies: discrepancies)
        let (kept, created) = try await StatementBook.keep(report, runtime: runtime)
        return try Self.response(created ? .created : .ok, kept)
    }

    /// The report, with where to read it again.
    static func response(_ status: HTTPResponse.Status, _ report: StatementReport) throws -> Response {
        var response = try HTTPJSON.response(status, report)
        response.headers[.location] = "/v1/channel-statements/\(report.statementId)"
        return response
    }

    /// The service's own field checks, and each reference once.
    private func checkLines(_ statement: ChannelStatement) throws {
        var errors: [Problem.FieldError] = []
        var seen: Set<String> = []
        var count = 0
        for row in statement.rows {
            var message = reconciler.check(row)
            if message == nil, !seen.insert(row[Reconciler.referenceColumn]).inserted {
                message = "\(Reconciler.referenceColumn) \(row[Reconciler.referenceColumn]) is listed twice"
            }
            guard let message else { continue }
            count += 1
            if errors.count < ChannelStatement.errorsListed { errors.append(.init(field: "line \(row.line)", message: message)) }
        }
        if count > 0 {
            throw ChannelStatement.malformed("the statement has \(count) error\(count == 1 ? "" : "s")", errors: errors, more: count - errors.count)
        }
    }

    enum DiscrepancyStatus: String, CaseIterable { case open, all }

    struct DiscrepancyPage: Codable {
        var discrepancies: [StatementBook.Raised]
        var nextAfter: Int64?
    }

    /// `GET /v1/statement-discrepancies` (fund officers, auditors): what staff have to look into,
    /// the open flags (flagged and not cleared by a later statement) by default, `status=all` for
    /// every discrepancy raised; `channel` to one channel; in raising order, `limit` (1-500) and
    /// `after` (the previous page's `nextAfter`) to page.
    @Sendable public func discrepancies(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let query = QueryInput(request)
        let limit = Int(try query.integer("limit", range: InputRange.pageLimit) ?? 100)
        let after = try query.integer("after", range: 0...Int64.max) ?? 0
        let status = try query.choice("status", DiscrepancyStatus.self) ?? .open
        let channel = try query.choice("channel", PaymentChannel.self)
        let items = try await StatementBook.raised(open: status == .open, channel: channel?.rawValue, after: after, limit: limit, runtime: runtime)
        return try HTTPJSON.response(.ok, DiscrepancyPage(discrepancies: items, nextAfter: items.count == limit ? items.last?.seq : nil))
    }

    /// `GET /v1/channel-statements/{statementId}` (fund officers, auditors).
    @Sendable public func report(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let text = try context.parameters.require("statementId")
        guard let id = UUID(uuidString: text), let report = try await StatementBook.report(id: id, runtime: runtime) else {
            throw Problem.notFound("unknown_statement", "no statement \(text.prefix(64))")
        }
        return try HTTPJSON.response(.ok, report)
    }
}
