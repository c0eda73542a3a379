/// Lowercase hexadecimal of bytes (digests, HMACs, the audit chain). Written by table: the
/// `String(format: "%02x")` way goes through NSString once per byte, and cost several per cent of
/// a request's CPU on the audit path.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
