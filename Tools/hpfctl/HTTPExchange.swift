import AsyncHTTPClient
import Foundation
import NIOCore

/// A service's answer: its status and body.
struct HTTPAnswer: Sendable {
    let status: Int
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }

    /// The body as JSON of type `T`.
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(body)) }

    /// An RFC 9457 problem (our error bodies), when the body is one.
    var problem: Problem? { (try? decode(Problem.self)).flatMap { $0.code == nil && $0.detail == nil ? nil : $0 } }

    struct Problem: Decodable, Sendable, CustomStringConvertible {
        var code: String?
        var title: String?
        var detail: String?
        var description: String { [code, detail ?? title].compactMap { $0 }.joined(separator: ": ") }
    }

    /// `HTTP 409 already_redriven: …`, or the status and the start of the body.
    var summary: String {
        let rest = problem?.description ?? String(text.prefix(300))
        return "HTTP \(status)" + (rest.isEmpty ? "" : " \(rest)")
    }
}

/// One request with a credential (`Credential.sign`): what `call`, `deadletters` and the
/// benchmarks send.
enum HTTPExchange {
    static func send(
        _ method: String, _ url: String, body: String = "", contentType: String = "application/json",
        as credential: Credential, timeout: TimeAmount = .seconds(30), limit: Int = 16 << 20,
        http: HTTPClient = .shared
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method.uppercased())
        if !body.isEmpty {
            request.headers.add(name: "content-type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        credential.sign(&request, body: body)
        let response = try await http.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: limit)
        return HTTPAnswer(status: Int(response.status.code), body: Array(bytes.readableBytesView))
    }
}
