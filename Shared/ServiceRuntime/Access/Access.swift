/// Who may call a route. Every route of every service names one (`Routes`), and the access
/// middleware enforces it before the handler runs:
/// - no credential -> 401 with `WWW-Authenticate`;
/// - a credential that does not verify -> 401 naming why;
/// - a verified caller this route does not accept -> 403;
/// - a citizen on a holder route reaches the handler, which must run the object-level check
///   (`ServiceRuntime.authorize`): another person's account answers 404.
public struct Access: Sendable, CustomStringConvertible {
    public enum CitizenRight: Sendable {
        /// No citizen may call.
        case none
        /// A citizen acting on an account of their own (checked by the handler).
        case ownAccounts
        /// Any citizen, acting for themselves (e.g. enrolling with their own ID number).
        case themselves
    }

    public let isOpen: Bool
    public let citizens: CitizenRight
    public let staff: Set<StaffRole>
    public let channels: Set<ChannelKind>

    init(isOpen: Bool = false, citizens: CitizenRight = .none, staff: Set<StaffRole> = [], channels: Set<ChannelKind> = []) {
        self.isOpen = isOpen
        self.citizens = citizens
        self.staff = staff
        self.channels = channels
    }

    /// Liveness, readiness: anyone.
    public static let open = Access(isOpen: true)
    /// Staff with one of `roles`.
    public static func staff(_ roles: StaffRole...) -> Access { Access(staff: Set(roles)) }
    /// Every case-working role (reads that any officer or auditor may make); not the system
    /// operator, who has no business with people's accounts.
    public static let anyStaff = Access(staff: StaffRole.caseworkers)
    /// The account's holder, or staff with one of `roles` (acting on the holder's behalf, recorded).
    public static func holder(orStaff roles: StaffRole...) -> Access { Access(citizens: .ownAccounts, staff: Set(roles)) }
    /// Reads of an account: its holder or any staff role.
    public static let holderOrAnyStaff = Access(citizens: .ownAccounts, staff: StaffRole.caseworkers)
    /// Any citizen acting for themselves, or staff with one of `roles`.
    public static func citizen(orStaff roles: StaffRole...) -> Access { Access(citizens: .themselves, staff: Set(roles)) }
    /// A signed request from a channel of one of `kinds`.
    public static func channel(_ kinds: ChannelKind...) -> Access { Access(channels: Set(kinds)) }
    /// Any verified caller at all.
    public static let anyCaller = Access(citizens: .themselves, staff: StaffRole.caseworkers, channels: Set(ChannelKind.allCases))

    /// Adds channels of `kinds` to a route's callers (a loan repayment: the holder, or the bank's feed).
    public func orChannel(_ kinds: ChannelKind...) -> Access {
        Access(isOpen: isOpen, citizens: citizens, staff: staff, channels: channels.union(kinds))
    }

    public func admits(_ caller: Caller) -> Bool {
        switch caller {
        case .citizen: citizens != .none
        case .staff(_, let roles): !roles.isDisjoint(with: staff)
        case .channel(_, let kind): channels.contains(kind)
        }
    }

    /// The schemes a caller could use here (for `WWW-Authenticate`).
    var challenges: String {
        var schemes: [String] = []
        if citizens != .none || !staff.isEmpty { schemes.append(#"Bearer realm="hpf""#) }
        if !channels.isEmpty { schemes.append(#"HPF-Signature realm="hpf""#) }
        return schemes.joined(separator: ", ")
    }

    public var description: String {
        if isOpen { return "anyone" }
        var parts: [String] = []
        switch citizens {
        case .none: break
        case .ownAccounts: parts.append("holder")
        case .themselves: parts.append("citizen")
        }
        if staff == StaffRole.caseworkers {
            parts.append("any staff")
        } else if !staff.isEmpty {
            parts.append("staff(" + staff.map(\.rawValue).sorted().joined(separator: ",") + ")")
        }
        if !channels.isEmpty { parts.append("channel(" + channels.map(\.rawValue).sorted().joined(separator: ",") + ")") }
        return parts.joined(separator: " | ")
    }
}
