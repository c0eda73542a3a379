import Crypto
import Foundation
import HummingbirdTesting
import Kafka
import Policy
import RegionalSync
import ServiceRuntime
import Testing

/// §17 foundations: the partner registry and the partner feed's signatures.
@Suite("Partner registry and signed partner messages")
struct PartnerRegistryTests {
    let value = Array(#"{"specversion":"1.0","id":"a","type":"hpf.partner.transfer-out-data.v1","source":"/hpf/320300","data":{}}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("a signature verifies over the exact bytes with its key id and time; every tampering is refused with its reason")
    func signatures() throws {
        let key = Curve25519.Signing.PrivateKey()
        let other = Curve25519.Signing.PrivateKey()
        let keys = ["xz-2026": key.publicKey]
        let headers = try PartnerSignature.headers(for: value, keyId: "xz-2026", key: key, at: now)
        func check(_ value: [UInt8], _ headers: [KafkaHeader], at: Date? = nil) -> String {
            switch PartnerSignature.verify(value: value, headers: headers, now: at ?? now, publicKey: { keys[$0] }) {
            case .success(let id): "ok:\(id)"
            case .failure(let refusal): refusal.rawValue
            }
        }
        #expect(check(value, headers) == "ok:xz-2026")
        #expect(check(value + [0x20], headers) == "bad_signature", "one byte more")
        #expect(check(value, []) == "missing_signature")
        #expect(check(value, headers.map { $0.name == PartnerSignature.keyIdHeader ? KafkaHeader(name: $0.name, value: "hz-1") : $0 }) == "unknown_key")
        #expect(check(value, headers, at: now.addingTimeInterval(301)) == "stale_timestamp")
        let forged = try PartnerSignature.headers(for: value, keyId: "xz-2026", key: other, at: now)
        #expect(check(value, forged) == "bad_signature", "signed with another key")
        // Moving the timestamp breaks the signature: it is signed too.
        let later = ISO8601DateFormatter().string(from: now.addingTimeInterval(60))
        let moved = headers.map { $0.name == PartnerSignature.signedAtHeader ? KafkaHeader(name: $0.name, value: later) : $0 }
        #expect(check(value, moved) == "bad_signature")
    }

    @Test("a signing time may be any RFC 3339 instant (fractional seconds, offsets, lower case); one that does not parse has its own code")
    func signingTimes() throws {
        let key = Curve25519.Signing.PrivateKey()
        func check(signedAt: String) throws -> String {
            // Signed the way a partner's own code would: over its exact time text.
            let signature = try key.signature(for: Array((signedAt + "\n").utf8) + value)
            let headers = [
                KafkaHeader(name: PartnerSignature.keyIdHeader, value: "k"), KafkaHeader(name: PartnerSignature.signedAtHeader, value: signedAt),
                KafkaHeader(name: PartnerSignature.signatureHeader, value: Data(signature).base64EncodedString()),
            ]
            switch PartnerSignature.verify(value: value, headers: headers, now: now, publicKey: { $0 == "k" ? key.publicKey : nil }) {
            case .success: return "ok"
            case .failure(let refusal): return refusal.rawValue
            }
        }
        let utc = ISO8601DateFormatter().string(from: now)  // 2026-05-28T20:26:40Z
        let base = String(utc.dropLast())
        for good in [
            utc, base + ".605Z", base + ".6Z", base + ".123456Z", base.lowercased() + ".605z",
            "2026-05-29T04:26:40.605+08:00", "2026-05-29T04:26:40+08:00",
        ] {
            #expect(try check(signedAt: good) == "ok", "\(good)")
        }
        for bad in ["yesterday", "2026-05-28 20:26:40", "2026-05-28T20:26:40", "1780000000", base + ".Z", base + ".12a4Z"] {
            #expect(try check(signedAt: bad) == "invalid_timestamp", "\(bad)")
        }
        #expect(try check(signedAt: "2026-05-28T20:36:40.001Z") == "stale_timestamp")
    }

    @Test("a refused partner message is copied to the dead-letter topic with resident ID numbers masked, nothing else touched")
    func redaction() {
        let letter =
            #"{"idNumber":"11010519491231002X","letterNumber":"32070020260316000001","receivingAccountNumber":"3207000000000001","other":"53010219200508011x"}"#
        let masked = String(decoding: ResidentIDRedaction.mask(Array(letter.utf8)), as: UTF8.self)
        #expect(!masked.contains("11010519491231002X") && masked.contains(ResidentID.mask("11010519491231002X")))
        #expect(!masked.contains("53010219200508011x"))
        #expect(masked.contains("32070020260316000001") && masked.contains("3207000000000001"), "letter and account numbers stay")
    }

    @Test("GET /v1/partners lists the ten border-region cities; staff register keys and switch exchanges")
    func registry() async throws {
        let app = try RegionalSyncService.buildApplication(config: TestStack.config(RegionalSyncService.descriptor), clock: TestStack.clock)
        try await app.test(.live) { client in
            let http = JSONClient(client: client)
            let list = try await http.get("/v1/partners")
            let partners = try #require(list["partners"] as? [[String: Any]])
            #expect(partners.count == 10)
            #expect(partners.first { $0["code"] as? String == "320700" }?["us"] as? Bool == true)
            let keyId = TestStack.unique("xz")
            let publicKey = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
            let body = #"{"keyId":"\#(keyId)","publicKey":"\#(publicKey)"}"#
            #expect(try await http.post("/v1/partners/320300/keys", body, as: .anonymous).status == 401)
            #expect(try await http.post("/v1/partners/320300/keys", body).status == 201)
            #expect(try await http.post("/v1/partners/320300/keys", body).string("code") == "key_id_taken")
            #expect(try await http.post("/v1/partners/999999/keys", body).status == 404)
            #expect(try await http.post("/v1/partners/320300/keys", #"{"keyId":"k","publicKey":"abc"}"#).status == 400)
            let after = try await http.get("/v1/partners")
            let xuzhou = try #require((after["partners"] as? [[String: Any]])?.first { $0["code"] as? String == "320300" })
            #expect((xuzhou["keys"] as? [[String: Any]])?.contains { $0["keyId"] as? String == keyId } == true)
        }
    }
}
