import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Enforces a route's `Access`, rate-limits citizens and unauthenticated callers, and writes the
/// audit record of every state-changing request an authenticated caller makes (refusals
/// included).
struct AccessMiddleware: RouterMiddleware {
    typealias Context = HPFRequestContext
    let access: Access
    let control: AccessControl
    /// The audit trail's `action`: method and route template.
    let action: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if access.isOpen { return try await next(request, context) }
        var request = request
        var context = context
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        let caller: Caller
        do {
            guard let verified = try await control.authenticate(&request) else {
                throw Problem.unauthenticated("unauthenticated", "this route needs a credential: \(access)", challenge: access.challenges)
            }
            caller = verified
        } catch let refusal as IdentityProvider.Refusal {
            try limitAddress(address)
            throw Problem.unauthenticated(refusal.rawValue, "the bearer token was refused: \(refusal.rawValue)", challenge: access.challenges)
        } catch let refusal as ChannelSignature.Refusal {
            try limitAddress(address)
            throw Problem.unauthenticated(refusal.rawValue, "the request signature was refused: \(refusal.rawValue)", challenge: access.challenges)
        } catch let problem as Problem where problem.status == .unauthorized {
            try limitAddress(address)
            throw problem
        }
        if case .citizen(let ref, _) = caller {
            if let wait = control.citizenLimiter.take(ref) ?? control.addressLimiter.take(address) {
                throw Problem.rateLimited(retryAfterSeconds: wait)
            }
        }
        context.caller = caller
        // Writes by anyone, and staff reading a person's account (a privileged look at personal data).
        let changesState = request.method != .get && request.method != .head
        let audited = changesState || (caller.isStaff && access.citizens == .ownAccounts)
        do {
            guard access.admits(caller) else {
                throw Problem.forbidden("this route is for \(access)")
            }
            let response = try await next(request, context)
            if case .citizen = caller, access.citizens == .ownAccounts, !context.audit.holderChecked {
                // Fail closed: a holder route must check the account is the caller's before it answers.
                context.logger.error("holder route answered a citizen without the holder check", metadata: ["route": "\(action)"])
                throw Problem.forbidden("the account could not be checked")
            }
            if audited { await record(caller, context: context, request: request, status: Int(response.status.code), code: nil) }
            return response
        } catch {
            if audited {
                let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
                await record(caller, context: context, request: request, status: status, code: (error as? Problem)?.code)
            }
            throw error
        }
    }

    private func limitAddress(_ address: String) throws {
        if let wait = control.addressLimiter.take(address) { throw Problem.rateLimited(retryAfterSeconds: wait) }
    }

    /// The caller's request id if it is a sane one (it is echoed into the audit trail).
    static func requestId(_ supplied: String?) -> String? {
        guard let supplied, (1...64).contains(supplied.utf8.count) else { return nil }
        let allowed = supplied.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
        return allowed ? supplied : nil
    }

    private func record(_ caller: Caller, context: Context, request: Request, status: Int, code: String?) async {
        let requestId = Self.requestId(request.headers[HTTPField.Name("X-Request-Id")!]) ?? context.id
        let entry = AuditTrail.Entry(
            at: Instant.formatSeconds(Date()), subject: caller.subject, role: caller.role,
            action: action, account: context.audit.account, requestId: requestId, status: status, code: code)
        do {
            try await control.auditWriter.append(entry)
        } catch {
            context.logger.error("audit record not written", metadata: ["action": "\(action)", "error": "\(String(reflecting: error))"])
        }
    }
}
