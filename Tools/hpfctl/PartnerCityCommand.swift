import ArgumentParser
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
///     hpfctl partner-city [play] [--cities 320300,321300] [--url URL]   answer our letters, confirm our data (until interrupted)
///     hpfctl partner-city apply --city 321300 --id-number ID --name NAME [--account OURS] [--url URL]
///                                                                  a partner's contact letter: ask us to transfer an account out
struct PartnerCityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partner-city",
        abstract: "Play border-region partner cities with their development keys (development stacks).",
        discussion: "Without a subcommand: play (answer our contact letters, confirm our transfer-out data, play the "
            + "banks between the centres) until interrupted.",
        subcommands: [Play.self, Apply.self],
        defaultSubcommand: Play.self)

    struct Play: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "play",
            abstract: "Answer our contact letters and confirm our transfer-out data, until interrupted.")

        @Option(help: ArgumentHelp("The partner cities to play, comma-separated city codes.", valueName: "code,code,..."))
        var cities: String = "320300,321300"

        @Option(help: "The regional-sync service.")
        var url: String = Stack.runURL("regional-sync")

        func validate() throws {
            let codes = cities.split(separator: ",", omittingEmptySubsequences: false)
            guard !codes.isEmpty, codes.allSatisfy({ $0.count == 6 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else {
                throw ValidationError("--cities takes 6-digit city codes separated by commas, got '\(cities)'")
            }
        }

        func run() async throws {
            let http = HTTPClient.shared
            var logger = Logger(label: "hpfctl.partner-city")
            logger.logLevel = .warning
            let cities = self.cities.split(separator: ",").map { PartnerCitySimulator.City.development(String($0)) }
            for city in cities { try await PartnerCityCommand.register(city, url: url, http: http) }
            let ours = try await PartnerCityCommand.ourKeys(url: url, http: http)
            let simulator = try PartnerCitySimulator(
                cities: cities, brokers: Environment.brokers, ourKeys: ours.signing,
                ourRecipientKey: ours.encryption, bank: PartnerCityCommand.bank(url: url, http: http),
                verbose: true, logger: logger)
            print("partner-city: playing \(cities.map(\.code).joined(separator: ", ")) against \(url)")
            fflush(nil)  // stdout is a log file under make run
            try await simulator.run(group: "hpfctl.partner-city")
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "A partner city's contact letter: ask us to transfer an account out; prints the letter number.")

        @Option(help: "The partner city's code, e.g. 321300 (Suqian).")
        var city: String

        @Option(help: "The applicant's resident ID number.")
        var idNumber: String

        @Option(help: "The applicant's name.")
        var name: String = "申请人"

        @Option(help: "Our account number, when the partner knows it.")
        var account: String?

        @Option(help: "The regional-sync service.")
        var url: String = Stack.runURL("regional-sync")

        func validate() throws {
            guard city.count == 6, city.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw ValidationError("--city takes a 6-digit city code, got '\(city)'")
            }
            guard !idNumber.isEmpty else { throw ValidationError("--id-number is empty") }
        }

        func run() async throws {
            let http = HTTPClient.shared
            var logger = Logger(label: "hpfctl.partner-city")
            logger.logLevel = .warning
            let partner = PartnerCitySimulator.City.development(city)
            try await PartnerCityCommand.register(partner, url: url, http: http)
            let simulator = try PartnerCitySimulator(
                cities: [partner], brokers: Environment.brokers, ourKeys: [:],
                ourRecipientKey: try await PartnerCityCommand.ourKeys(url: url, http: http).encryption,
                logger: logger)
            let today = BusinessDate.of(Date())
            let letter = try await simulator.applyForTransferOut(
                from: partner, name: name, idNumber: idNumber, ourAccountNumber: account,
                theirAccountNumber: city + String(format: "%010d", Int.random(in: 0..<1_000_000_000)), on: today,
                sequence: Int.random(in: 1...999_999))
            await simulator.close()
            print(letter)
        }
    }

    /// Registers the city's development keys (signing and encryption) with the regional-sync service (idempotent).
    static func register(_ city: PartnerCitySimulator.City, url: String, http: HTTPClient) async throws {
        for body in [
            #"{"keyId":"\#(city.keyId)","publicKey":"\#(city.publicKey)"}"#,
            #"{"keyId":"\#(city.encryptionKeyId)","use":"encryption","publicKey":"\#(city.encryptionPublicKey)"}"#,
        ] {
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
        -> (signing: [String: Curve25519.Signing.PublicKey], encryption: PartnerSealing.RecipientKey?)
    {
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
