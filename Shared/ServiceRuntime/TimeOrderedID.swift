import Foundation

public extension UUID {
    /// A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made in
    /// one bulk run sort by time, so a million rows go into their unique indexes near the right
    /// edge instead of at random pages all over (random v4 ids cost a buffer miss and, after each
    /// checkpoint, a full-page image per row in the annual jobs).
    static func timeOrdered(at instant: Date = Date()) -> UUID {
        let milliseconds = UInt64(max(0, instant.timeIntervalSince1970 * 1000))
        var bytes = withUnsafeBytes(of: UUID().uuid) { Array($0) }
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * UInt64(index))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 9562 variant
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
