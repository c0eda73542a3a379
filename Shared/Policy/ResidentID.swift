/// A validated mainland resident identity number (居民身份证号码, GB 11643-1999).
public struct ResidentID: Sendable, Hashable {
    public enum Sex: String, Sendable, Codable { case male, female }

    /// The 18 characters, with a lower-case check character upper-cased.
    public let value: String
    public let birthDate: BusinessDate
    /// GB 11643: the 17th digit is odd for men, even for women.
    public let sex: Sex

    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// Validates the format, the birth date (digits 7-14) and the ISO 7064 MOD 11-2 check character.
    /// Returns nil for anything that is not a valid number.
    public init?(_ raw: String, asOf today: BusinessDate? = nil) {
        let text = raw.uppercased()
        let chars = Array(text)
        guard chars.count == 18, chars[0..<17].allSatisfy({ $0.isASCII && $0.isNumber }),
            chars[17].isASCII, chars[17].isNumber || chars[17] == "X"
        else { return nil }
        let digits = chars[0..<17].map { Int(String($0))! }
        let sum = zip(digits, Self.weights).reduce(0) { $0 + $1.0 * $1.1 }
        guard Self.checkCharacters[sum % 11] == chars[17] else { return nil }
        guard let birth = BusinessDate(String(chars[6..<14]).insertingDashes()) else { return nil }
        if let today, birth > today { return nil }
        value = text
        birthDate = birth
        sex = digits[16] % 2 == 1 ? .male : .female
    }

    /// What responses and logs show: the first four and last four characters only.
    public var masked: String { Self.mask(value) }

    public static func mask(_ value: String) -> String {
        let chars = Array(value)
        guard chars.count > 8 else { return String(repeating: "*", count: chars.count) }
        return String(chars.prefix(4)) + String(repeating: "*", count: chars.count - 8) + String(chars.suffix(4))
    }
}

private extension String {
    /// "19491231" -> "1949-12-31"
    func insertingDashes() -> String {
        let c = Array(self)
        return String(c[0..<4]) + "-" + String(c[4..<6]) + "-" + String(c[6..<8])
    }
}
