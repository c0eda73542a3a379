import AsyncHTTPClient
import Crypto
import Foundation
import ServiceRuntime

/// A channel key the benchmark registers and has approved through the service's staff routes,
/// then signs its requests with: the path a channel takes in production, where the service
/// reads the key from its registry (development keys are derived, never read).
struct ChannelBenchKey: Sendable {
    let channel: String
    let keyId: String
    let key: Curve25519.Signing.PrivateKey

    /// Registers a fresh key for `channel` at `serviceURL` (one officer) and approves it (a
    /// second officer: the registry's four eyes).
    static func register(channel: String, serviceURL: String, http: HTTPClient) async throws -> ChannelBenchKey {
        let key = Curve25519.Signing.PrivateKey()
        let keyId = "bench-\(UUID().uuidString.prefix(8))"
        let body = #"{"keyId":"\#(keyId)","publicKey":"\#(key.publicKey.rawRepresentation.base64EncodedString())"}"#
        let registered = try await HTTPExchange.send(
            "POST", "\(serviceURL)/v1/channels/\(channel)/keys", body: body, as: .staff(id: "hpfctl-bench-registrar", roles: [.fundOfficer]),
            limit: 1 << 16, http: http)
        guard registered.status == 201 else { throw CommandError("channel key not registered (\(registered.status)): \(registered.text)") }
        let approved = try await HTTPExchange.send(
            "POST", "\(serviceURL)/v1/channels/\(channel)/keys/\(keyId)/approval", body: "{}",
            as: .staff(id: "hpfctl-bench-approver", roles: [.fundOfficer]), limit: 1 << 16, http: http)
        let registeredKey = ChannelBenchKey(channel: channel, keyId: keyId, key: key)
        guard approved.status == 200 else {
            await registeredKey.revokeReporting(serviceURL: serviceURL, http: http)
            throw CommandError("channel key not approved (\(approved.status)): \(approved.text)")
        }
        return registeredKey
    }

    /// Revokes the key once the run is over, however it ended (its private half is gone with the
    /// process). A refusal is reported, not thrown: the run's figures stand.
    func revokeReporting(serviceURL: String, http: HTTPClient) async {
        do {
            let revoked = try await HTTPExchange.send(
                "DELETE", "\(serviceURL)/v1/channels/\(channel)/keys/\(keyId)", as: .staff(id: "hpfctl-bench-registrar", roles: [.fundOfficer]),
                limit: 1 << 16, http: http)
            if revoked.status != 200 { print("bench: warning: channel key \(keyId) not revoked (\(revoked.status)): \(revoked.text)") }
        } catch {
            print("bench: warning: channel key \(keyId) not revoked: \(error)")
        }
    }
}
