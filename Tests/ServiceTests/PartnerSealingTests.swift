import Contracts
import Crypto
import Foundation
import ServiceRuntime
import Testing

/// §17 personal fields sealed to one centre (HPKE): only its key opens them, only for their own
/// letter, and the box a partner builds from the document alone opens here.
@Suite("Partner feed: personal fields sealed to the receiving centre")
struct PartnerSealingTests {
    static let person = PersonalFields(name: "张伟", idNumber: "11010519491231002X")
    static let letter = "32070020260316000001"

    @Test("a sealed box opens with the recipient's key for its own letter only; every box is fresh")
    func sealAndOpen() throws {
        let xuzhou = Curve25519.KeyAgreement.PrivateKey()
        let recipient = PartnerSealing.RecipientKey(keyId: "320300-enc-1", key: xuzhou.publicKey)
        let sealed = try PartnerSealing.seal(Self.person, to: recipient, letterNumber: Self.letter)
        #expect(sealed.suite == SealedPersonalData.suiteName && sealed.keyId == "320300-enc-1")
        #expect(try PartnerSealing.open(sealed, letterNumber: Self.letter, keys: ["320300-enc-1": xuzhou]) == Self.person)
        let again = try PartnerSealing.seal(Self.person, to: recipient, letterNumber: Self.letter)
        #expect(again.encapsulatedKey != sealed.encapsulatedKey && again.ciphertext != sealed.ciphertext, "a fresh ephemeral key each time")
        // Another centre's key, another letter, another key id, a tampered box: refused, never a crash.
        #expect(throws: PartnerSealing.Refusal.undecryptable) {
            try PartnerSealing.open(sealed, letterNumber: Self.letter, keys: ["320300-enc-1": Curve25519.KeyAgreement.PrivateKey()])
        }
        #expect(throws: PartnerSealing.Refusal.undecryptable) {
            try PartnerSealing.open(sealed, letterNumber: "32070020260316000002", keys: ["320300-enc-1": xuzhou])
        }
        #expect(throws: PartnerSealing.Refusal.unknownRecipientKey) {
            try PartnerSealing.open(sealed, letterNumber: Self.letter, keys: ["other": xuzhou])
        }
        var tampered = sealed
        var bytes = [UInt8](Data(base64Encoded: sealed.ciphertext)!)
        bytes[0] ^= 1
        tampered.ciphertext = Data(bytes).base64EncodedString()
        for box in [
            tampered, SealedPersonalData(suite: "P256", keyId: "320300-enc-1", encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext),
            SealedPersonalData(keyId: "320300-enc-1", encapsulatedKey: "not base64", ciphertext: sealed.ciphertext),
            SealedPersonalData(keyId: "320300-enc-1", encapsulatedKey: sealed.encapsulatedKey, ciphertext: String(repeating: "A", count: 100_000)),
        ] {
            #expect(throws: PartnerSealing.Refusal.undecryptable) { try PartnerSealing.open(box, letterNumber: Self.letter, keys: ["320300-enc-1": xuzhou]) }
        }
    }

    /// The inbound example of `docs/asyncapi-partner.yaml` was sealed by an independent HPKE
    /// implementation (not swift-crypto) to our development key: it opens here, so the document's
    /// recipe is the one the code follows.
    @Test("the partner document's sealed example opens with our development key")
    func documentedExample() throws {
        let document = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../docs/asyncapi-partner.yaml").standardizedFileURL, encoding: .utf8)
        let line = try #require(document.split(separator: "\n").first { $0.contains("payload: {") && $0.contains(#""keyId":"lyg-dev-enc-1""#) })
        let json = String(line.drop { $0 != "{" })
        let event = try CloudEventCoding.decode(TransferApplication.self, from: Array(json.utf8))
        let sealed = try #require(event.data.personal)
        let opened = try PartnerSealing.open(
            sealed, letterNumber: event.data.letterNumber,
            keys: ["lyg-dev-enc-1": PartnerSealing.developmentKey(city: "320700")])
        #expect(opened == PersonalFields(name: "李娜", idNumber: "320303199001012144"))
        #expect(event.data.name == nil && event.data.idNumber == nil)
    }
}
