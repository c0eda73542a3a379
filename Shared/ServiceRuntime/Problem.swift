import Contracts
import Foundation
import Hummingbird

/// An RFC 9457 problem-details error with a machine-readable rule `code`.
public struct Problem: HTTPResponseError, Sendable {
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public let status: HTTPResponse.Status
    public let code: String
    public let title: String
    public let detail: String
    public var errors: [FieldError]
    /// Extra members, e.g. `minimumFen` with `below_minimum_contribution`.
    public var extensions: [String: Int64]
    /// Extra response headers (`WWW-Authenticate` on a 401, `Retry-After` on a 429).
    public var headers: HTTPFields = [:]

    public init(
        _ status: HTTPResponse.Status, code: String, title: String, detail: String,
        errors: [FieldError] = [], extensions: [String: Int64] = [:]
    ) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extensions = extensions
    }

    /// 400: the request could not be read as the endpoint's JSON.
    public static func malformed(_ detail: String, errors: [FieldError] = []) -> Problem {
        Problem(.badRequest, code: "malformed_request", title: "Malformed request", detail: detail, errors: errors)
    }

    /// 400: values outside their documented ranges (`InputRange`), each named.
    public static func outOfRange(_ violations: [RangeViolation]) -> Problem {
        Problem(
            .badRequest, code: "out_of_range", title: "Value out of range",
            detail: violations.map(\.description).joined(separator: "; "),
            errors: violations.map { FieldError(field: $0.field, message: $0.message) })
    }

    /// 422: a business rule refused the request; `code` names the rule.
    public static func rule(_ code: String, _ detail: String, extensions: [String: Int64] = [:]) -> Problem {
        Problem(.unprocessableContent, code: code, title: "Refused by rule \(code)", detail: detail, extensions: extensions)
    }

    public static func notFound(_ code: String, _ detail: String) -> Problem {
        Problem(.notFound, code: code, title: "Not found", detail: detail)
    }

    /// 404 for an account number this service does not know.
    public static func unknownAccount(_ number: String) -> Problem {
        notFound("unknown_account", "no account \(number)")
    }

    public static func conflict(_ code: String, _ detail: String) -> Problem {
        Problem(.conflict, code: code, title: "Conflict", detail: detail)
    }

    /// 409: a caller's idempotency key (`requestId`) came back with a different body.
    public static func requestIdReused(_ requestId: String) -> Problem {
        conflict("duplicate_request_mismatch", "requestId \(requestId) was already used with a different body")
    }

    /// What a 503 tells the caller to wait before retrying (`Retry-After`).
    public static let retryAfterSeconds = 5

    /// 503: the database or broker is away; nothing was done, and the caller may retry after
    /// `retryAfter` seconds with the same `requestId`.
    public static func unavailable(_ detail: String, retryAfter: Int = retryAfterSeconds) -> Problem {
        var problem = Problem(.serviceUnavailable, code: "dependency_unavailable", title: "Service unavailable", detail: detail)
        problem.headers[.retryAfter] = "\(retryAfter)"
        return problem
    }

    public var body: [String: Any] {
        var object: [String: Any] = [
            "type": "https://hpf.lyg.example/problems/\(code.replacingOccurrences(of: "_", with: "-"))",
            "title": title, "status": Int(status.code), "detail": detail, "code": code,
        ]
        if !errors.isEmpty { object["errors"] = errors.map { ["field": $0.field, "message": $0.message] } }
        for (key, value) in extensions { object[key] = value }
        return object
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: status, headers: fields,
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
