import Foundation
import Policy

/// §17 partner feed (苏皖鲁豫 border cooperation): the messages two housing provident fund
/// centres exchange to move a person's account, following the national transfer platform's flow
/// (全国住房公积金异地转移接续平台). The same types travel both ways: we write them on each
/// partner city's own `hpf.regional.partner-outbound.<city code>.v1`, partner cities write theirs on
/// `hpf.regional.partner-inbound.v1`. Every message is a structured CloudEvent (the record value
/// is the whole envelope) signed with Ed25519 (see `PartnerSignature`); `source` is
/// `/hpf-partner/<city code>`, `subject` the writer's account number, record key the letter
/// number (one letter's messages stay in order). `receivingCity` is the centre the person moves to (it writes the contact letter),
/// `sendingCity` the one that holds the account now.
///
/// Unlike the internal topics, contact letters carry the person's name and resident ID number: the
/// other centre needs them to match the person (CONTRACT.md, "only where a partner needs them"),
/// and only it can read them (they are sealed to its key).
public enum PartnerMessage {
    /// The CloudEvents `source` of a partner city's messages.
    public static func source(city: String) -> String { "/hpf-partner/\(city)" }

    /// The city code a partner `source` names, or nil.
    public static func city(fromSource source: String) -> String? {
        let prefix = "/hpf-partner/"
        guard source.hasPrefix(prefix) else { return nil }
        let code = String(source.dropFirst(prefix.count))
        return code.count == 6 && code.allSatisfy(\.isNumber) ? code : nil
    }
}

/// The contact letter's number (联系函编号), built like the national platform's: the receiving
/// centre's 6-digit city code, the business date (8 digits) and a 6-digit daily sequence.
public enum ContactLetter {
    public static func number(receivingCity: String, on date: BusinessDate, sequence: Int) -> String {
        receivingCity + date.description.replacingOccurrences(of: "-", with: "") + String(format: "%06d", sequence)
    }

    /// Whether `text` has that shape (20 digits).
    public static func isValid(_ text: String) -> Bool { text.count == 20 && text.allSatisfy { $0.isASCII && $0.isNumber } }
}

/// The application states of the national platform (POLICY.md §17). Cancel only in `letterChecked`.
public enum TransferState: String, Codable, Sendable, CaseIterable {
    case letterChecked = "01"  // 联系函已校验
    case letterAccepted = "02"  // 联系函已受理 (the sending centre took it)
    case accountDataChecked = "08"  // 账户信息已核对 (transfer-out data checked, money on its way)
    case completed = "00"  // 办结
    case negotiating = "06"  // 协商中 (the data did not check out; the centres are talking)
    case transferOutRefused = "13"  // 转出地不予转出
    case cancelled = "05"  // 已撤销
    case failed = "40"  // 失败

    public var isFinal: Bool { [.completed, .transferOutRefused, .cancelled, .failed].contains(self) }

    /// The English name shown beside the code.
    public var name: String {
        switch self {
        case .letterChecked: "letter_checked"
        case .letterAccepted: "letter_accepted"
        case .accountDataChecked: "account_data_checked"
        case .completed: "completed"
        case .negotiating: "negotiating"
        case .transferOutRefused: "transfer_out_refused"
        case .cancelled: "cancelled"
        case .failed: "failed"
        }
    }
}

/// `hpf.regional.transfer-application.v1` (转移接续联系函): the receiving centre asks the sending
/// centre to transfer the person's account. The person's name and resident ID number travel only
/// inside `personal`, sealed to the sending centre's registered encryption key
/// (`SealedPersonalData`), so only that centre can read them whatever the broker's ACLs are.
/// `name` and `idNumber` in clear are the first version's fields: we never write them, and accept
/// them from a partner only until it has registered our encryption key (deprecated).
public struct TransferApplication: Codable, Sendable, Equatable {
    public var letterNumber: String
    public var receivingCity: String
    public var sendingCity: String
    /// The name and ID number, sealed to the sending centre (see `SealedPersonalData`).
    public var personal: SealedPersonalData?
    /// Deprecated (clear text; inbound only): use `personal`.
    public var name: String?
    /// Deprecated (clear text; inbound only): use `personal`.
    public var idNumber: String?
    /// The person's account at the receiving centre (where the money goes).
    public var receivingAccountNumber: String
    /// The person's account at the sending centre, when the person knows it.
    public var sendingAccountNumber: String?
    public var appliedOn: BusinessDate

    public init(
        letterNumber: String, receivingCity: String, sendingCity: String, personal: SealedPersonalData?,
        receivingAccountNumber: String, sendingAccountNumber: String?, appliedOn: BusinessDate
    ) {
        self.letterNumber = letterNumber
        self.receivingCity = receivingCity
        self.sendingCity = sendingCity
        self.personal = personal
        self.receivingAccountNumber = receivingAccountNumber
        self.sendingAccountNumber = sendingAccountNumber
        self.appliedOn = appliedOn
    }
}

/// What a contact letter says about the person: the plaintext inside `SealedPersonalData`
/// (JSON `{"name": ..., "idNumber": ...}`). The resident ID number identifies the person; the
/// name is for the staff who read the letter and is not matched (names are written in several
/// ways across systems).
public struct PersonalFields: Codable, Sendable, Equatable {
    public var name: String
    public var idNumber: String

    public init(name: String, idNumber: String) {
        self.name = name
        self.idNumber = idNumber
    }
}

/// Personal fields sealed to one partner centre with HPKE (RFC 9180, base mode) over
/// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305 (suite ids 0x0020, 0x0001,
/// 0x0003), `info` = `hpf-partner-personal-data/v1`, additional data = the letter number (a
/// sealed box cannot be moved to another letter). `keyId` names the recipient's registered
/// encryption key; `encapsulatedKey` and `ciphertext` are base64.
public struct SealedPersonalData: Codable, Sendable, Equatable {
    public static let suiteName = "X25519-HKDF-SHA256-ChaCha20Poly1305"
    public var suite: String
    public var keyId: String
    public var encapsulatedKey: String
    public var ciphertext: String

    public init(suite: String = SealedPersonalData.suiteName, keyId: String, encapsulatedKey: String, ciphertext: String) {
        self.suite = suite
        self.keyId = keyId
        self.encapsulatedKey = encapsulatedKey
        self.ciphertext = ciphertext
    }
}

/// `hpf.regional.transfer-accepted.v1` (state 02) or `hpf.regional.transfer-refused.v1` (state 13,
/// with `code`): the sending centre's answer to a contact letter.
public struct TransferAnswer: Codable, Sendable, Equatable {
    public var letterNumber: String
    public var receivingCity: String
    public var sendingCity: String
    /// Why it was refused (refusals only), e.g. `outstanding_hpf_loan`, `pending_withdrawal`.
    public var code: String?
    public var detail: String?

    public init(letterNumber: String, receivingCity: String, sendingCity: String, code: String? = nil, detail: String? = nil) {
        self.letterNumber = letterNumber
        self.receivingCity = receivingCity
        self.sendingCity = sendingCity
        self.code = code
        self.detail = detail
    }
}

/// `hpf.regional.transfer-out-data.v1` (转出信息): what the sending centre moved, once it has taken
/// the whole balance. `amountFen` must equal `principalFen + interestFen`.
public struct TransferOutData: Codable, Sendable, Equatable {
    public var letterNumber: String
    public var receivingCity: String
    public var sendingCity: String
    public var sendingAccountNumber: String
    public var principalFen: Fen
    public var interestFen: Fen
    public var amountFen: Fen
    /// The month the account was opened at the sending centre.
    public var openedMonth: YearMonth
    /// The last month paid up (缴至年月).
    public var paidUpToMonth: YearMonth?
    /// Whether the last 6 months up to `paidUpToMonth` were paid without a gap (近6个月连续缴存).
    public var lastSixMonthsContinuous: Bool
    /// Every month with a contribution there (for record recognition).
    public var contributionMonths: [YearMonth]
    /// Loan flags: whether the person ever had an HPF loan there, and whether one is unsettled.
    public var hadHpfLoan: Bool
    public var hasUnsettledHpfLoan: Bool
    public var sentOn: BusinessDate

    public init(
        letterNumber: String, receivingCity: String, sendingCity: String, sendingAccountNumber: String, principalFen: Fen,
        interestFen: Fen, amountFen: Fen, openedMonth: YearMonth, paidUpToMonth: YearMonth?, lastSixMonthsContinuous: Bool,
        contributionMonths: [YearMonth], hadHpfLoan: Bool, hasUnsettledHpfLoan: Bool, sentOn: BusinessDate
    ) {
        self.letterNumber = letterNumber
        self.receivingCity = receivingCity
        self.sendingCity = sendingCity
        self.sendingAccountNumber = sendingAccountNumber
        self.principalFen = principalFen
        self.interestFen = interestFen
        self.amountFen = amountFen
        self.openedMonth = openedMonth
        self.paidUpToMonth = paidUpToMonth
        self.lastSixMonthsContinuous = lastSixMonthsContinuous
        self.contributionMonths = contributionMonths
        self.hadHpfLoan = hadHpfLoan
        self.hasUnsettledHpfLoan = hasUnsettledHpfLoan
        self.sentOn = sentOn
    }
}

/// The receiving centre's last word on a letter: `hpf.regional.transfer-confirmed.v1` (state 00:
/// credited), `hpf.regional.transfer-disputed.v1` (state 06: the data did not check out, with
/// `code`), `hpf.regional.transfer-failed.v1` (state 40: it could not be credited; the sending
/// centre gives the money back) or `hpf.regional.transfer-cancelled.v1` (state 05, before the
/// sending centre accepted).
public struct TransferOutcome: Codable, Sendable, Equatable {
    public var letterNumber: String
    public var receivingCity: String
    public var sendingCity: String
    public var creditedFen: Fen?
    public var code: String?
    public var detail: String?

    public init(
        letterNumber: String, receivingCity: String, sendingCity: String, creditedFen: Fen? = nil, code: String? = nil,
        detail: String? = nil
    ) {
        self.letterNumber = letterNumber
        self.receivingCity = receivingCity
        self.sendingCity = sendingCity
        self.creditedFen = creditedFen
        self.code = code
        self.detail = detail
    }
}

/// A partner message names both cities of its letter; it goes to the one that is not us.
public protocol PartnerAddressed: Sendable {
    var receivingCity: String { get }
    var sendingCity: String { get }
}

public extension PartnerAddressed {
    /// The partner city of the letter, seen from `ourCity`.
    func partnerCity(ourCity: String) -> String { receivingCity == ourCity ? sendingCity : receivingCity }
}

extension TransferApplication: PartnerAddressed {}
extension TransferAnswer: PartnerAddressed {}
extension TransferOutData: PartnerAddressed {}
extension TransferOutcome: PartnerAddressed {}

/// `hpf.regional.message-refused.v1`: a partner message we refused or ignored, answered on the
/// writer's own outbound topic, signed like every message. `code` is the refusal's code
/// (`bad_signature`, `unknown_key`, `stale_timestamp`, `invalid_timestamp`, `revoked_key`,
/// `expired_key`, `missing_signature`, `source_mismatch`, `unknown_partner`, `duplicate_event`,
/// `invalid_payload`, `malformed_event`, `unknown_event_type`, `rule_violation`); `messageId`,
/// `messageType` and `letterNumber` are what could be read of the refused message.
public struct MessageRefused: Codable, Sendable, Equatable, PartnerAddressed {
    public var messageId: String?
    public var messageType: String?
    public var letterNumber: String?
    /// The city whose message it was (the refusal goes to it), and ours.
    public var toCity: String
    public var fromCity: String
    public var code: String
    public var detail: String

    public init(messageId: String?, messageType: String?, letterNumber: String?, toCity: String, fromCity: String, code: String, detail: String) {
        self.messageId = messageId
        self.messageType = messageType
        self.letterNumber = letterNumber
        self.toCity = toCity
        self.fromCity = fromCity
        self.code = code
        self.detail = detail
    }

    public var receivingCity: String { toCity }
    public var sendingCity: String { fromCity }
}
