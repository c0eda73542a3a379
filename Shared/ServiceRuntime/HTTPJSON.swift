import Foundation
import Hummingbird

/// Reading and writing JSON bodies with problem-details errors: malformed input is a 400 that
/// names the field, never a 500.
public enum HTTPJSON {
    public static let maxBodyBytes = 1_048_576

    public static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw Problem(.contentTooLarge, code: "body_too_large", title: "Body too large", detail: "at most \(maxBodyBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw Problem.malformed(describe(error), errors: fieldErrors(error))
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem.malformed("the body is not valid JSON")
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c) where c.codingPath.isEmpty: "the body is not valid JSON"
        case .dataCorrupted(let c): "\(path(c.codingPath)): \(c.debugDescription)"
        case .keyNotFound(let key, let c): "\(path(c.codingPath + [key])) is required"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): "\(path(c.codingPath)) has the wrong type"
        @unknown default: "the body could not be read"
        }
    }

    static func fieldErrors(_ error: DecodingError) -> [Problem.FieldError] {
        switch error {
        case .keyNotFound(let key, let c): [.init(field: path(c.codingPath + [key]), message: "required")]
        case .typeMismatch(_, let c), .valueNotFound(_, let c): [.init(field: path(c.codingPath), message: "wrong type")]
        case .dataCorrupted(let c) where !c.codingPath.isEmpty: [.init(field: path(c.codingPath), message: c.debugDescription)]
        default: []
        }
    }

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func response<T: Encodable>(_ status: HTTPResponse.Status = .ok, _ value: T) throws -> Response {
        let data = try encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns any error that is not already a problem into one: database outages are 503,
/// anything unexpected is a logged 500 that leaks no internals.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            if DatabaseErrors.isTransient(error) {
                throw Problem.unavailable("the database is not reachable; retry later")
            }
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            throw Problem(.internalServerError, code: "internal_error", title: "Internal error", detail: "an unexpected error occurred")
        }
    }
}
