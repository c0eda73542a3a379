import Crypto
import Foundation

/// Signed requests from payment channels, the bank's feeds and the social-insurance system, in
/// the manner of WeChat Pay v3 and Alipay notifications: the channel signs
/// `timestamp \n nonce \n METHOD \n path?query \n body \n` with its Ed25519 key and sends
///
/// | header | value |
/// |---|---|
/// | `HPF-Channel` | the channel id (`wechat`, `alipay`, `bank_card`, `bank`, `social_insurance`) |
/// | `HPF-Key-Id` | which of the channel's registered keys signed |
/// | `HPF-Timestamp` | Unix seconds; refused outside ±5 minutes of our clock |
/// | `HPF-Nonce` | 16 to 64 of `A-Z a-z 0-9 - _`, never used before by this channel |
/// | `HPF-Signature` | base64 of the signature |
public enum ChannelSignature {
    public static let channelHeader = "HPF-Channel"
    public static let keyIdHeader = "HPF-Key-Id"
    public static let timestampHeader = "HPF-Timestamp"
    public static let nonceHeader = "HPF-Nonce"
    public static let signatureHeader = "HPF-Signature"
    /// How far a request's timestamp may be from our clock.
    public static let windowSeconds: Int64 = 300

    /// Why a signed request was refused (the 401's `code`).
    public enum Refusal: String, Error, Sendable {
        case missingSignature = "missing_signature"
        case unknownChannel = "unknown_channel"
        case unknownKey = "unknown_key"
        case staleTimestamp = "stale_timestamp"
        case badNonce = "bad_nonce"
        case badSignature = "bad_signature"
        case nonceReused = "nonce_reused"
    }

    /// The exact bytes signed.
    public static func message(timestamp: String, nonce: String, method: String, path: String, body: some Collection<UInt8>) -> Data {
        var data = Data("\(timestamp)\n\(nonce)\n\(method.uppercased())\n\(path)\n".utf8)
        data.append(contentsOf: body)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The headers that sign a request (for the channel side: hpfctl, simulators, tests).
    public static func headers(
        channel: String, keyId: String, key: Curve25519.Signing.PrivateKey, method: String, path: String,
        body: some Collection<UInt8>, now: Date = Date(), nonce: String = UUID().uuidString
    ) -> [String: String] {
        let timestamp = String(Int64(now.timeIntervalSince1970))
        let signature = try! key.signature(for: message(timestamp: timestamp, nonce: nonce, method: method, path: path, body: body))
        return [
            channelHeader: channel, keyIdHeader: keyId, timestampHeader: timestamp, nonceHeader: nonce,
            signatureHeader: Data(signature).base64EncodedString(),
        ]
    }

    /// Headers signed with a channel's development key (local and test stacks only).
    public static func developmentHeaders(
        channel: String, method: String, path: String, body: some Collection<UInt8>,
        now: Date = Date()
    ) -> [String: String] {
        let (keyId, key) = DevelopmentIdentity.channelKey(channel)
        return headers(channel: channel, keyId: keyId, key: key, method: method, path: path, body: body, now: now)
    }

    static func validNonce(_ nonce: String) -> Bool {
        (16...64).contains(nonce.utf8.count)
            && nonce.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }
}
