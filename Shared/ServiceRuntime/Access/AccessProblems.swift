import Hummingbird

public extension Problem {
    /// 401: no credential, or one that does not verify (`code` says why).
    static func unauthenticated(_ code: String, _ detail: String, challenge: String) -> Problem {
        var problem = Problem(.unauthorized, code: code, title: "Unauthorized", detail: detail)
        problem.headers[.wwwAuthenticate] = challenge
        return problem
    }

    /// 403: the caller is known but this route is not theirs.
    static func forbidden(code: String = "forbidden", _ detail: String) -> Problem {
        Problem(.forbidden, code: code, title: "Forbidden", detail: detail)
    }

    /// 429: too many requests from one subject or address.
    static func rateLimited(retryAfterSeconds: Int) -> Problem {
        var problem = Problem(
            .tooManyRequests, code: "rate_limited", title: "Too many requests",
            detail: "slow down: retry after \(retryAfterSeconds) s")
        problem.headers[.retryAfter] = "\(retryAfterSeconds)"
        return problem
    }
}
