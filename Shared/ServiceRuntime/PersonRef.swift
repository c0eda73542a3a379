import Crypto
import Foundation
import Policy

/// A keyed hash (HMAC-SHA-256) of a resident ID number: the same person always gets the same
/// reference, yet the number cannot be recovered from it without the secret. It is what the
/// database indexes and what other services see, never the raw number.
public struct PersonRefHasher: Sendable {
    let key: SymmetricKey

    public init(secret: String) { key = SymmetricKey(data: Data(secret.utf8)) }

    public func ref(_ id: ResidentID) -> String { mac(id.value) }

    /// The same for a bank account number (domain-separated from ID numbers): services compare a
    /// payee's account with the holder's registered one without the number leaving enrolment.
    public func ref(bankAccount: String) -> String { mac("bank-account:\(bankAccount)") }

    private func mac(_ text: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
    }
}

public extension ServiceRuntime {
    /// The person-ref hasher with this deployment's secret (every service must share it).
    var personRefHasher: PersonRefHasher { PersonRefHasher(secret: config.personKeySecret) }
}

/// Resident ID numbers in text that leaves its topic (a refused partner message copied to the
/// dead-letter topic, which is internal): each 18-character number is replaced by its masked form.
public enum ResidentIDRedaction {
    /// 17 digits and a check character, not part of a longer run of digits (a letter number).
    private static let pattern = try! NSRegularExpression(pattern: "(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")

    public static func mask(_ bytes: [UInt8]) -> [UInt8] {
        guard let text = String(validating: bytes, as: UTF8.self) else { return bytes }
        let ns = text as NSString
        var out = ""
        var last = 0
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: last, length: match.range.location - last))
            out += ResidentID.mask(ns.substring(with: match.range))
            last = match.range.location + match.range.length
        }
        out += ns.substring(from: last)
        return Array(out.utf8)
    }
}
