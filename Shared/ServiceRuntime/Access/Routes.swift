import Hummingbird

/// One route and who may call it.
public struct RouteSpec: Sendable, CustomStringConvertible {
    public let method: HTTPRequest.Method
    public let path: String
    public let access: Access
    public var description: String { "\(method.rawValue) \(path): \(access)" }

    public init(method: HTTPRequest.Method, path: String, access: Access) {
        self.method = method
        self.path = path
        self.access = access
    }
}

/// The only way a service adds a route: each one names its `Access`, enforced by the access
/// middleware, and is listed in `specs` (tests walk the list: anyone else is refused).
public final class Routes {
    public let router: Router<HPFRequestContext>
    let control: AccessControl
    public private(set) var specs: [RouteSpec] = []

    public typealias Handler = @Sendable (Request, HPFRequestContext) async throws -> Response

    public init(router: Router<HPFRequestContext>, control: AccessControl) {
        self.router = router
        self.control = control
    }

    public func get(_ path: String, _ access: Access, use handler: @escaping Handler) { add(.get, path, access, handler) }
    public func post(_ path: String, _ access: Access, use handler: @escaping Handler) { add(.post, path, access, handler) }
    public func put(_ path: String, _ access: Access, use handler: @escaping Handler) { add(.put, path, access, handler) }
    public func delete(_ path: String, _ access: Access, use handler: @escaping Handler) { add(.delete, path, access, handler) }

    private func add(_ method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping Handler) {
        specs.append(RouteSpec(method: method, path: path, access: access))
        router.group(RouterPath(path))
            .add(middleware: AccessMiddleware(access: access, control: control, action: "\(method.rawValue) \(path)"))
            .on("", method: method, use: handler)
    }
}
