import AsyncHTTPClient
import Foundation
import ServiceRuntime
import Synchronization

/// How hpfctl proves who it is to a development stack (`HPF_ENV=development`): tokens of the
/// development identity provider, or a channel's signature with its development key, which a
/// production stack refuses; or a channel's signature with a key registered and approved in the
/// service's registry (`registeredChannel`, the benchmark's), which is how channels sign in
/// production.
enum Credential: Sendable {
    /// A staff member with every role (the benchmarks' and the demo's officer).
    case officer
    case citizen(idNumber: String)
    case staff(id: String, roles: [StaffRole])
    /// A signed request from a channel (`wechat`, `alipay`, `bank_card`, `bank`, `social_insurance`).
    case channel(String)
    /// A signed request from a channel with a key registered and approved in the service's
    /// registry, as a channel signs in production (`ChannelBenchKey`).
    case registeredChannel(ChannelBenchKey)
    case none

    /// `officer`, `citizen:ID`, `staff:ID:role,role`, `channel:NAME` or `none`.
    init(_ text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
        switch (parts.first, parts.count) {
        case ("officer", 1): self = .officer
        case ("none", 1): self = .none
        case ("citizen", 2): self = .citizen(idNumber: parts[1])
        case ("channel", 2): self = .channel(parts[1])
        case ("staff", 3): self = .staff(id: parts[1], roles: try Credential.roles(parts[2]))
        default: throw CommandError("--as takes officer, citizen:ID, staff:ID:ROLES, channel:NAME or none")
        }
    }

    static func roles(_ text: String) throws -> [StaffRole] {
        try text.split(separator: ",").map {
            guard let role = StaffRole(rawValue: String($0)) else {
                throw CommandError("unknown role \($0) (one of \(StaffRole.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return role
        }
    }

    func headers(method: String, url: String, body: String) -> [(String, String)] {
        switch self {
        case .none:
            return []
        case .officer:
            return [("authorization", "Bearer " + OfficerToken.current())]
        case .citizen(let idNumber):
            return [("authorization", "Bearer " + DevelopmentIdentity.citizenToken(idNumber: idNumber))]
        case .staff(let id, let roles):
            return [("authorization", "Bearer " + DevelopmentIdentity.staffToken(staffId: id, roles: roles))]
        case .channel(let channel):
            return Self.ordered(ChannelSignature.developmentHeaders(channel: channel, method: method, path: Self.signedPath(url), body: Array(body.utf8)))
        case .registeredChannel(let registered):
            return Self.ordered(
                ChannelSignature.headers(
                    channel: registered.channel, keyId: registered.keyId, key: registered.key, method: method, path: Self.signedPath(url),
                    body: Array(body.utf8)))
        }
    }

    private static func ordered(_ headers: [String: String]) -> [(String, String)] {
        headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The signature covers the path and query exactly as the server receives them.
    private static func signedPath(_ url: String) -> String {
        let components = URLComponents(string: url)
        return (components?.percentEncodedPath ?? "/") + (components?.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    func sign(_ request: inout HTTPClientRequest, body: String) {
        for (name, value) in headers(method: request.method.rawValue, url: request.url, body: body) { request.headers.add(name: name, value: value) }
    }
}

/// The officer's token, minted once and reused until a quarter of its hour is left, as a staff
/// client keeps its token. Minted per request (a signature and two JSON encodings each), it and
/// the parsing of every decision took the loan benchmark's load generator from 3.5 s to 6.0 s of
/// CPU over a run, on the same two cores as the stack it measures.
enum OfficerToken {
    private static let lifetime: TimeInterval = 3600
    private static let minted = Mutex<(token: String, expires: Date)?>(nil)

    static func current(now: Date = Date()) -> String {
        minted.withLock { minted in
            if let minted, minted.expires.timeIntervalSince(now) > lifetime / 4 { return minted.token }
            let token = DevelopmentIdentity.staffToken(staffId: "hpfctl", roles: StaffRole.allCases, lifetime: lifetime, now: now)
            minted = (token, now.addingTimeInterval(lifetime))
            return token
        }
    }
}
