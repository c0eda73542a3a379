import Contracts
import Crypto
import Foundation
import HTTPTypes

/// A statement is uploaded by a fund officer but signed by its channel: the officer's token says
/// who imported it, the channel's Ed25519 signature over the exact bytes says the channel issued
/// it. A statement posts deposits and settles payouts, so one officer alone must not be able to
/// write one. The key is one the channel registered for its notifications (four eyes, `ChannelRegistry`).
///
/// | header | value |
/// |---|---|
/// | `HPF-Statement-Key-Id` | which of the channel's registered keys signed |
/// | `HPF-Statement-Signature` | base64 of the Ed25519 signature of the body's bytes |
///
/// No timestamp or nonce: a statement is a document, and importing it again changes nothing.
public enum StatementSignature {
    public static let keyIdHeader = "HPF-Statement-Key-Id"
    public static let signatureHeader = "HPF-Statement-Signature"

    /// The headers that sign a statement (the channel side: hpfctl, tests).
    public static func headers(keyId: String, key: Curve25519.Signing.PrivateKey, bytes: [UInt8]) -> [String: String] {
        let signature = try! key.signature(for: bytes)
        return [keyIdHeader: keyId, signatureHeader: Data(signature).base64EncodedString()]
    }

    /// Signed with the channel's development key (local and test stacks only).
    public static func developmentHeaders(channel: String, bytes: [UInt8]) -> [String: String] {
        let (keyId, key) = DevelopmentIdentity.channelKey(channel)
        return headers(keyId: keyId, key: key, bytes: bytes)
    }

    /// The key id that signed `bytes` for `channel`, or a 422 saying why the statement is not
    /// the channel's.
    static func verify(channel: PaymentChannel, headers: HTTPFields, bytes: [UInt8], registry: ChannelRegistry) async throws -> String {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
        guard let keyId = header(keyIdHeader), let encoded = header(signatureHeader) else {
            throw Problem.rule("statement_not_signed", "a statement carries its channel's signature (\(keyIdHeader), \(signatureHeader))")
        }
        guard (1...64).contains(keyId.utf8.count), let key = try await registry.publicKey(channel: channel.rawValue, keyId: keyId) else {
            throw Problem.rule("unknown_statement_key", "channel \(channel.rawValue) has no active key \(keyId.prefix(64))")
        }
        guard let signature = Data(base64Encoded: encoded), key.isValidSignature(signature, for: bytes) else {
            throw Problem.rule("bad_statement_signature", "the statement's signature does not verify with channel \(channel.rawValue)'s key \(keyId)")
        }
        return keyId
    }
}
