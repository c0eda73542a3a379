import AsyncHTTPClient
import Contracts
import Crypto
import Foundation
import Logging
import NIOCore
import PartnerCity
import Policy
import ServiceRuntime

/// `hpfctl partner-city`: plays border-region partner cities against the running regional-sync
/// service (§17) with their development keys.
///
///     hpfctl partner-city [--cities 320300,321300] [--url URL]    answer our letters, confirm our data (until interrupted)
///     hpfctl partner-city apply --city 321300 --id-number ID --name NAME [--account OURS] [--url URL]
///                                                                  a partner's contact letter: ask us to transfer an account out
enum PartnerCityCommand {
    static func run(_ options: CommandOptions) async throws {
        let url = options.string("url", "http://127.0.0.1:8086")
        let http = HTTPClient.shared
        var logger = Logger(label: "hpfctl.partner-city")
        logger.logLevel = .warning
        if options.positional.first == "apply" { return try await apply(options, url: url, http: http, logger: logger) }
        let cities = options.string("cities", "320300,321300").split(separator: ",").map { PartnerCitySimulator.City.development(String($0)) }
        for city in cities { try await register(city, url: url, http: http) }
        let ours = try await ourKeys(url: url, http: http)
        let simulator = try PartnerCitySimulator(cities: cities, brokers: CommandOptions.brokers, ourKeys: ours.signing,
                                                 ourRecipientKey: ours.encryption, bank: bank(url: url, http: http), verbose: true, logger: logger)
        print("partner-city: playing \(cities.map(\.code).joined(separator: ", ")) against \(url)")
        try await simulator.run(group: "hpfctl.partner-city")
    }

    static func apply(_ options: CommandOptions, url: String, http: HTTPClient, logger: Logger) async throws {
        guard let code = options.named["city"], let id = options.named["id-number"] else {
            throw CommandError("apply needs --city CODE and --id-number ID")
        }
        let city = PartnerCitySimulator.City.development(code)
        try await register(city, url: url, http: http)
        let simulator = try PartnerCitySimulator(cities: [city], brokers: CommandOptions.brokers, ourKeys: [:],
                                                 ourRecipientKey: try await ourKeys(url: url, http: http).encryption, logger: logger)
        let today = BusinessDate.of(Date())
        let letter = try await simulator.applyForTransferOut(
            from: city, name: options.string("name", "申请人"), idNumber: id, ourAccountNumber: options.named["account"],
            theirAccountNumber: code + String(format: "%010d", Int.random(in: 0..<1_000_000_000)), on: today,
            sequence: Int.random(in: 1...999_999))
        await simulator.close()
        print(letter)
    }

    /// Registers the city's development keys (signing and encryption) with the regional-sync service (idempotent).
    static func register(_ city: PartnerCitySimulator.City, url: String, http: HTTPClient) async throws {
        for body in [#"{"keyId":"\#(city.keyId)","publicKey":"\#(city.publicKey)"}"#,
                     #"{"keyId":"\#(city.encryptionKeyId)","use":"encryption","publicKey":"\#(city.encryptionPublicKey)"}"#] {
            var request = HTTPClientRequest(url: "\(url)/v1/partners/\(city.code)/keys")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            Credential.officer.sign(&request, body: "")
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await http.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 201 || response.status.code == 409 else {
                throw CommandError("registering \(city.code)'s key: HTTP \(response.status.code)")
            }
        }
    }

    /// The banks between the centres, signing as the `bank` channel with its development key.
    static func bank(url: String, http: HTTPClient) -> PartnerCitySimulator.Bank {
        PartnerCitySimulator.Bank { path, body in
            var request = HTTPClientRequest(url: url + path)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            Credential.channel("bank").sign(&request, body: body)
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await http.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
    }

    /// Lianyungang's public keys, from its own entry in `GET /v1/partners`: the signing keys by
    /// key id, and the encryption key the simulator's letters seal their person to.
    static func ourKeys(url: String, http: HTTPClient) async throws
        -> (signing: [String: Curve25519.Signing.PublicKey], encryption: PartnerSealing.RecipientKey?) {
        // The partner list answers any signed-in caller (it reveals no person).
        var request = HTTPClientRequest(url: "\(url)/v1/partners")
        Credential.officer.sign(&request, body: "")
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        struct Key: Decodable { var keyId: String; var use: String; var publicKey: String }
        struct Partner: Decodable { var us: Bool; var keys: [Key] }
        struct List: Decodable { var partners: [Partner] }
        let list = try JSONDecoder().decode(List.self, from: Data(buffer: body))
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        var encryption: PartnerSealing.RecipientKey?
        for key in list.partners.filter(\.us).flatMap(\.keys) {
            if key.use == "encryption" {
                encryption = PartnerSealing.publicKey(base64: key.publicKey).map { .init(keyId: key.keyId, key: $0) }
            } else if let raw = Data(base64Encoded: key.publicKey) {
                keys[key.keyId] = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
            }
        }
        return (keys, encryption)
    }
}
