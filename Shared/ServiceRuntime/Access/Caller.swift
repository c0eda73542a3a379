import Foundation

/// Staff roles of the HPF centre (公积金中心), as the identity provider issues them in `roles`.
/// Each staff route names the roles it accepts.
public enum StaffRole: String, Sendable, CaseIterable, Codable, Hashable {
    /// Enrols people and changes agreements on their behalf (经办).
    case enrolmentOfficer = "enrolment_officer"
    /// Money and registries: withdrawals and loans on a holder's behalf, jobs run by hand, imports,
    /// the partner and channel registries.
    case fundOfficer = "fund_officer"
    /// Reads everything, changes nothing; reads the audit trail (稽核).
    case auditor
    /// Runs the system (运维): dead letters and their redrive, read-model rebuilds. Sees event
    /// positions and reasons, not people.
    case systemOperator = "operator"

    /// The roles that work with people's cases (officers and auditors).
    public static let caseworkers: Set<StaffRole> = [.enrolmentOfficer, .fundOfficer, .auditor]
}

/// The kinds of machine callers that sign their requests instead of sending a bearer token.
public enum ChannelKind: String, Sendable, CaseIterable, Codable, Hashable {
    /// WeChat Pay, Alipay and the bank's card auto-debit: payment notifications and payout confirmations.
    case payment
    /// The bank's repayment and settlement feed (loan repayments by bank transfer).
    case bankFeed = "bank_feed"
    /// The social-insurance system posting §12 payments.
    case socialInsurance = "social_insurance"
}

/// The channels the suite knows, each of one kind. A key is registered for one of these ids.
public enum ChannelCatalogue {
    public static let kinds: [String: ChannelKind] = [
        "wechat": .payment, "alipay": .payment, "bank_card": .payment,
        "bank": .bankFeed,
        "social_insurance": .socialInsurance,
    ]
}

/// Who is calling, once their credential has been verified.
public enum Caller: Sendable, Equatable {
    /// An account holder, real-name verified by the city's identity provider. Only the keyed
    /// `personRef` and the masked ID number are kept: the raw number is dropped at once.
    case citizen(personRef: String, maskedIdNumber: String)
    case staff(id: String, roles: Set<StaffRole>)
    case channel(id: String, kind: ChannelKind)

    /// The subject as the audit trail records it (no personal data: a citizen is their keyed ref).
    public var subject: String {
        switch self {
        case .citizen(let ref, _): "citizen:\(ref)"
        case .staff(let id, _): "staff:\(id)"
        case .channel(let id, _): "channel:\(id)"
        }
    }

    /// The role as the audit trail records it.
    public var role: String {
        switch self {
        case .citizen: "citizen"
        case .staff(_, let roles): roles.map(\.rawValue).sorted().joined(separator: ",")
        case .channel(_, let kind): kind.rawValue
        }
    }

    public var isStaff: Bool { if case .staff = self { true } else { false } }
    public var staffId: String? { if case .staff(let id, _) = self { id } else { nil } }
    public var citizenRef: String? { if case .citizen(let ref, _) = self { ref } else { nil } }
    public var channelId: String? { if case .channel(let id, _) = self { id } else { nil } }
}
