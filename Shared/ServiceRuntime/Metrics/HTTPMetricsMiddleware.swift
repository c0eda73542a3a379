import Hummingbird

/// Counts and times every request by route template, method and status, refusals and errors
/// included (a 4xx or 5xx thrown as a problem is timed like any answer). The route template,
/// not the path, keeps the label set bounded: account numbers and ids never become labels.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let service: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let method = request.method.rawValue
        do {
            // Timed when the handler answers: the suite's bodies are whole buffers, written at once.
            let response = try await next(request, context)
            let route = context.endpointPath ?? "unmatched"
            HPFMetrics.httpRequests(service: service, method: method, route: route, status: Int(response.status.code)).increment()
            HPFMetrics.httpDuration(service: service, method: method, route: route).record(ContinuousClock.now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            let route = context.endpointPath ?? "unmatched"
            HPFMetrics.httpRequests(service: service, method: method, route: route, status: status).increment()
            HPFMetrics.httpDuration(service: service, method: method, route: route).record(ContinuousClock.now - started)
            throw error
        }
    }
}
