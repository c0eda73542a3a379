import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ServiceRuntime

/// A thin JSON client for a service under test. Against a live server it speaks real HTTP through
/// AsyncHTTPClient's connection pool: concurrent requests go out side by side and a timeout really
/// ends a request (HummingbirdTesting's client pipelines every request on one connection, and on a
/// loaded machine a request stuck behind a slow one could wait for ever).
struct JSONClient: Sendable {
    let client: any TestClientProtocol
    /// Who the requests are from unless a call says otherwise.
    var identity: TestIdentity = .auto

    init(client: any TestClientProtocol, as identity: TestIdentity = .auto) {
        self.client = client
        self.identity = identity
    }

    /// The same service, called as someone else.
    func `as`(_ identity: TestIdentity) -> JSONClient { JSONClient(client: client, as: identity) }

    struct Reply: @unchecked Sendable {
        let status: Int
        let contentType: String?
        let text: String
        var headers: [String: String] = [:]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
        subscript(_ key: String) -> Any? { json[key] }
        func string(_ key: String) -> String? { json[key] as? String }
        func int(_ key: String) -> Int64? { (json[key] as? NSNumber)?.int64Value }
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, body: String? = nil, as override: TestIdentity? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> Reply {
        var fields = ["content-type": "application/json"]
        for (name, value) in (override ?? identity).headers(method: method.rawValue, path: path, body: body ?? "") { fields[name] = value }
        for (name, value) in extra { fields[name] = value }
        if let port = client.port {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = .init(rawValue: method.rawValue)
            for (name, value) in fields { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await Self.execute(request)
            let bytes = try await response.body.collect(upTo: 16 << 20)
            var replyHeaders: [String: String] = [:]
            for header in response.headers { replyHeaders[header.name.lowercased()] = header.value }
            return Reply(
                status: Int(response.status.code), contentType: response.headers.first(name: "content-type"), text: String(buffer: bytes),
                headers: replyHeaders)
        }
        var httpFields: HTTPFields = [:]
        for (name, value) in fields { if let field = HTTPField.Name(name) { httpFields[field] = value } }
        return try await client.execute(uri: path, method: method, headers: httpFields, body: body.map { ByteBuffer(string: $0) }) { response in
            Reply(status: Int(response.status.code), contentType: response.headers[.contentType], text: String(buffer: response.body))
        }
    }

    /// The tests' client. Its pool lets a connection idle for at most 10 s, well under the
    /// services' HPF_HTTP_IDLE_TIMEOUT (30 s): a test that waits half a minute on the database and
    /// then calls a service again would otherwise race the server closing that connection
    /// (`remoteConnectionClosed`, with the request perhaps half-sent).
    /// Otherwise the shared client's settings (a 90 s connect timeout, so that 50 concurrent
    /// requests queued for the pool's connections on a loaded machine wait rather than fail).
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.idleTimeout = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// A pooled connection the previous server on this port (a restarted service) closed while
    /// idle fails before the request is written ("I/O on closed channel"): nothing reached the
    /// service, so the request goes again on a fresh connection. Any other failure is the test's.
    static func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await http.execute(request, timeout: .seconds(60))
            } catch let error as ChannelError where error == .ioOnClosedChannel && attempt < 3 {
                continue
            }
        }
    }

    func get(_ path: String, as identity: TestIdentity? = nil) async throws -> Reply { try await send(.get, path, as: identity) }
    func post(_ path: String, _ body: String, as identity: TestIdentity? = nil) async throws -> Reply {
        try await send(.post, path, body: body, as: identity)
    }
    func put(_ path: String, _ body: String, as identity: TestIdentity? = nil) async throws -> Reply { try await send(.put, path, body: body, as: identity) }
    func delete(_ path: String, as identity: TestIdentity? = nil) async throws -> Reply { try await send(.delete, path, as: identity) }
}

/// Who a test request is from: tokens from the development identity provider, or a channel's
/// signature with its development key (accepted because the test stack runs with HPF_ENV=development).
enum TestIdentity: Sendable {
    case anonymous
    /// The account holder with this resident ID number.
    case citizen(String)
    case staff([StaffRole], id: String = "officer-test")
    /// A signed request from this channel (`wechat`, `alipay`, `bank_card`, `bank`, `social_insurance`).
    case channel(String)
    /// An arbitrary `Authorization` header value.
    case authorization(String)
    /// What the tests that are not about access use: a channel's signature on the channel routes
    /// (the channel a payment names), an officer with every role everywhere else.
    case auto

    static let officer = TestIdentity.staff(StaffRole.allCases)

    func headers(method: String, path: String, body: String) -> [String: String] {
        switch self {
        case .anonymous:
            return [:]
        case .citizen(let idNumber):
            return ["authorization": "Bearer " + DevelopmentIdentity.citizenToken(idNumber: idNumber)]
        case .staff(let roles, let id):
            return ["authorization": "Bearer " + DevelopmentIdentity.staffToken(staffId: id, roles: roles)]
        case .channel(let channel):
            return ChannelSignature.developmentHeaders(channel: channel, method: method, path: path, body: Array(body.utf8))
        case .authorization(let value):
            return ["authorization": value]
        case .auto:
            return Self.automatic(method: method, path: path, body: body).headers(method: method, path: path, body: body)
        }
    }

    static func automatic(method: String, path: String, body: String) -> TestIdentity {
        let route = path.split(separator: "?").first.map(String.init) ?? path
        if method == "POST", route == "/v1/contributions" {
            let channel = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["channel"] as? String
            return .channel(channel ?? "wechat")
        }
        if method == "POST", route.hasPrefix("/v1/payouts/") { return .channel("wechat") }
        if method == "POST", route == "/v1/social-insurance/payments" { return .channel("social_insurance") }
        if method == "POST", route == "/v1/transfers/settlements" || route.hasPrefix("/v1/transfer-payouts/") { return .channel("bank") }
        if method == "POST", route.hasPrefix("/v1/loans/"), route.hasSuffix("/repayments"), body.contains("bank_transfer") { return .channel("bank") }
        return .officer
    }
}

/// JSON bodies for the requests the tests send.
enum Bodies {
    static func enrolment(
        idNumber: String, county: String = "320706", schedule: String = "monthly", amountFen: Int = 20_000,
        education: String = #"{"level":"below_bachelor"}"#, children: Int = 0, retirementGroup: String? = nil,
        residence: String = "rural"
    ) -> String {
        let group = retirementGroup.map { #","retirementGroup":"\#($0)""# } ?? ""
        return """
            {"name":"张伟","idNumber":"\(idNumber)","phone":"13912345678","employmentType":"new_form","industry":"ecommerce_crystal",
             "role":"streamer","county":"\(county)","residence":"\(residence)","childrenCount":\(children),"education":\(education)\(group),
             "agreement":{"schedule":"\(schedule)","amountFen":\(amountFen),"channel":"wechat"},"payoutBankAccount":"6222000011112222"}
            """
    }

    /// Before the scheme and before any test account was opened: such history comes only through
    /// the staff import (`history`), never from a channel (`paid_at_before_opening`), and earns no
    /// opening subsidy, so tests that check exact balances fund accounts this way.
    static let beforeScheme = "2025-05-20T10:00:00+08:00"
    /// The test business date (`TestStack.today`), inside the scheme's window: the day test
    /// accounts are opened. A first channel payment then may earn an opening subsidy from any
    /// subsidy service running in the test process, so tests assert on contributions.
    static let inWindow = "2026-03-16T10:00:00+08:00"

    /// A staff import of contribution history: `(amountFen, paidAt)` per item, each a new legacy id.
    static func history(account: String, _ items: [(amountFen: Int, paidAt: String)]) -> String {
        let lines = items.map { item in
            #"{"accountNumber":"\#(account)","amountFen":\#(item.amountFen),"paidAt":"\#(item.paidAt)","legacyId":"\#(TestStack.unique("legacy"))"}"#
        }
        return "[\(lines.joined(separator: ","))]"
    }

    static func contribution(
        account: String, amountFen: Int, txn: String, paidAt: String = inWindow,
        channel: String = "wechat"
    ) -> String {
        #"{"accountNumber":"\#(account)","amountFen":\#(amountFen),"channel":"\#(channel)","channelTxnId":"\#(txn)","paidAt":"\#(paidAt)"}"#
    }
}
