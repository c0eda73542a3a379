import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore

/// A thin JSON client for a service under test. Against a live server it speaks real HTTP through
/// AsyncHTTPClient's connection pool: concurrent requests go out side by side and a timeout really
/// ends a request (HummingbirdTesting's client pipelines every request on one connection, and on a
/// loaded machine a request stuck behind a slow one could wait for ever).
struct JSONClient: Sendable {
    let client: any TestClientProtocol

    struct Reply: @unchecked Sendable {
        let status: Int
        let contentType: String?
        let text: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
        subscript(_ key: String) -> Any? { json[key] }
        func string(_ key: String) -> String? { json[key] as? String }
        func int(_ key: String) -> Int64? { (json[key] as? NSNumber)?.int64Value }
    }

    func send(_ method: HTTPRequest.Method, _ path: String, body: String? = nil, staffToken: String? = nil) async throws -> Reply {
        if let port = client.port {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = .init(rawValue: method.rawValue)
            request.headers.add(name: "content-type", value: "application/json")
            if let staffToken { request.headers.add(name: "authorization", value: "Bearer \(staffToken)") }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: 16 << 20)
            return Reply(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"), text: String(buffer: bytes))
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let staffToken { headers[.authorization] = "Bearer \(staffToken)" }
        return try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            Reply(status: Int(response.status.code), contentType: response.headers[.contentType], text: String(buffer: response.body))
        }
    }

    func get(_ path: String) async throws -> Reply { try await send(.get, path) }
    func post(_ path: String, _ body: String, staffToken: String? = nil) async throws -> Reply { try await send(.post, path, body: body, staffToken: staffToken) }
    func put(_ path: String, _ body: String) async throws -> Reply { try await send(.put, path, body: body) }
}

/// JSON bodies for the requests the tests send.
enum Bodies {
    static func enrolment(idNumber: String, county: String = "320706", schedule: String = "monthly", amountFen: Int = 20_000,
                          education: String = #"{"level":"below_bachelor"}"#, children: Int = 0, retirementGroup: String? = nil,
                          residence: String = "rural") -> String {
        let group = retirementGroup.map { #","retirementGroup":"\#($0)""# } ?? ""
        return """
            {"name":"张伟","idNumber":"\(idNumber)","phone":"13912345678","employmentType":"new_form","industry":"ecommerce_crystal",
             "role":"streamer","county":"\(county)","residence":"\(residence)","childrenCount":\(children),"education":\(education)\(group),
             "agreement":{"schedule":"\(schedule)","amountFen":\(amountFen),"channel":"wechat"}}
            """
    }

    /// By default paid before the scheme's validity window, so no opening subsidy joins the
    /// balance of tests that are not about subsidies (subsidy tests pass `inWindow`).
    static let beforeScheme = "2025-05-20T10:00:00+08:00"
    static let inWindow = "2026-03-16T10:00:00+08:00"

    static func contribution(account: String, amountFen: Int, txn: String, paidAt: String = beforeScheme,
                             channel: String = "wechat") -> String {
        #"{"accountNumber":"\#(account)","amountFen":\#(amountFen),"channel":"\#(channel)","channelTxnId":"\#(txn)","paidAt":"\#(paidAt)"}"#
    }
}
