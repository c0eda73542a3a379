import Contracts
import Foundation
import Hummingbird
import Policy

/// Reading and writing JSON bodies with problem-details errors: malformed input is a 400 that
/// names the field, never a 500.
public enum HTTPJSON {
    public static let maxBodyBytes = 1_048_576

    /// Reads the body as `T` after checking every number and date in it against `InputRange`
    /// (`ranges` gives named fields another range): a value out of range is a 400 naming the
    /// field, before any handler sees it.
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request, ranges: [String: ClosedRange<Int64>] = [:]) async throws -> T {
        if let contentType = request.headers[.contentType], !isJSON(contentType) {
            throw Problem(
                .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
                detail: "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw Problem(.contentTooLarge, code: "body_too_large", title: "Body too large", detail: "at most \(maxBodyBytes) bytes")
        }
        if holdsControlCharacter(buffer.readableBytesView) {
            throw Problem.malformed("a string holds a control character (NUL, a line break, an escape below U+0020 or U+007F)")
        }
        let data = Data(buffer.readableBytesView)
        let violations = RangeCheck.violations(in: data, overrides: ranges)
        if !violations.isEmpty {
            throw Problem.outOfRange(violations)
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw Problem.malformed(describe(error), errors: fieldErrors(error))
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem.malformed("the body is not valid JSON")
        }
    }

    /// `application/json` or a `+json` type, any parameters (charset) allowed.
    static func isJSON(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }

    /// Whether a JSON text holds a control character inside a string: raw ones are invalid JSON
    /// anyway, so this looks at escapes (`\b \f \n \r \t`, `\u0000`-`\u001F`, `\u007F`), in one pass.
    static func holdsControlCharacter(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else { continue }
            guard let escaped = iterator.next() else { return false }
            switch escaped {
            case UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                return true
            case UInt8(ascii: "u"):
                var value: UInt32 = 0
                for _ in 0..<4 {
                    guard let hex = iterator.next(), let digit = Character(UnicodeScalar(hex)).hexDigitValue else { return false }
                    value = value << 4 | UInt32(digit)
                }
                if value < 0x20 || value == 0x7F { return true }
            default:
                continue
            }
        }
        return false
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
        } catch let overflow as AmountOverflow {
            // A sum of bounded amounts that still overflows (a pool total, say): refused, not a 500.
            throw Problem.rule(AmountOverflow.code, overflow.detail)
        } catch {
            if DatabaseErrors.isTransient(error) {
                throw Problem.unavailable("the database is not reachable; retry later")
            }
            // The request was given up (its client went away, or the server is stopping) while it
            // waited for shared work (a group commit): not a fault of ours, and worth a retry.
            if error is CancellationError {
                throw Problem.unavailable("the request was given up before its answer; retry later")
            }
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            throw Problem(.internalServerError, code: "internal_error", title: "Internal error", detail: "an unexpected error occurred")
        }
    }
}
