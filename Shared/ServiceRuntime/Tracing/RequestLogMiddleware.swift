import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The first thing every request meets: it continues the caller's trace (`traceparent`) or
/// starts one, runs the request as a span of it (so the events the request writes carry it),
/// answers the trace in `traceresponse`, and writes one log line when the request is answered:
/// request id, method, route template, status, problem code, account and duration. The account is
/// the one the handler named for the audit trail (an account number, never a person's data).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = HPFRequestContext
    let logger: Logger
    let propagation = W3CTracePropagation()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let span = propagation.span(continuing: propagation.parent(of: request.headers))
        let started = ContinuousClock.now
        return try await TraceParent.withSpan(span) {
            do {
                var response = try await next(request, context)
                response.headers[HTTPField.Name("traceresponse")!] = span.header
                log(request, context, status: Int(response.status.code), code: nil, span: span, since: started)
                return response
            } catch {
                let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
                log(request, context, status: status, code: (error as? Problem)?.code, span: span, since: started)
                // A refusal names its trace too: it is where a caller most needs it.
                if let answer = error as? any HTTPResponseError { throw Traced(base: answer, trace: span.header) }
                throw error
            }
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, code: String?, span: TraceParent, since started: ContinuousClock.Instant) {
        // Health probes and metric scrapes every few seconds would drown the lines that matter.
        guard let route = context.endpointPath, !Self.quiet.contains(route) || status >= 500 else { return }
        // A probe's 503 is the outage it reports, already known: a warning, not an error per probe.
        let level: Logger.Level = status < 500 ? .info : Self.quiet.contains(route) ? .warning : .error
        // The fields are built only when the line is written (every request passes here).
        guard logger.logLevel <= level else { return }
        let elapsed = ContinuousClock.now - started
        var metadata: Logger.Metadata = [
            "request_id": "\(AccessMiddleware.requestId(request.headers[HTTPField.Name("X-Request-Id")!]) ?? context.id)",
            "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(status)",
            "duration_ms": "\(Self.milliseconds(elapsed))",
            "trace_id": "\(span.traceID)", "span_id": "\(span.spanID)",
            "outcome": "\(status < 400 ? "ok" : status < 500 ? "refused" : "failed")",
        ]
        if let code { metadata["code"] = "\(code)" }
        if let account = context.audit.account { metadata["account"] = "\(account)" }
        logger.log(level: level, "request", metadata: metadata)
    }

    /// To the microsecond.
    static func milliseconds(_ duration: Duration) -> Double {
        ((Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15) * 1000).rounded() / 1000
    }

    static let quiet: Set<String> = ["/health", "/ready", "/metrics"]
}

/// An error answer with the request's `traceresponse` added to whatever the error itself answers.
struct Traced: HTTPResponseError {
    let base: any HTTPResponseError
    let trace: String
    var status: HTTPResponse.Status { base.status }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try base.response(from: request, context: context)
        response.headers[HTTPField.Name("traceresponse")!] = trace
        return response
    }
}
