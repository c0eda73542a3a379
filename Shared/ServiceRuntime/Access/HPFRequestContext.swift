import Hummingbird
import NIOCore
import Synchronization

/// The request context of every route: hummingbird's core storage, the client's address (for
/// rate limits), the verified caller (set by `AccessMiddleware`) and the note the audit record
/// is written from.
public struct HPFRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Nil on open routes and before the access middleware has run.
    public var caller: Caller?
    /// Shared by the middleware and the handler: the account a request acted on and whether the
    /// holder check ran.
    public let audit: AuditNote

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        caller = nil
        audit = AuditNote()
    }
}

/// What a handler tells the access middleware about the request it served.
public final class AuditNote: Sendable {
    private struct State {
        var account: String?
        var holderChecked = false
    }

    private let state = Mutex(State())

    public init() {}

    /// The account the request acts on (recorded in the audit trail).
    public var account: String? { state.withLock { $0.account } }
    /// Whether the object-level check (`ServiceRuntime.authorize`) ran for this request.
    public var holderChecked: Bool { state.withLock { $0.holderChecked } }

    func noteAccount(_ number: String, checked: Bool) {
        state.withLock {
            $0.account = number
            if checked { $0.holderChecked = true }
        }
    }
}
