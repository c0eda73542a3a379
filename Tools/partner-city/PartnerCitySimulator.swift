import Contracts
import Crypto
import Foundation
import Kafka
import Logging
import Policy
import ServiceRuntime
import Synchronization

/// Plays one or more border-region partner cities (§17) over Kafka, the way their own systems
/// would: reads its cities' own partner-outbound topics, checks our signature, answers our contact letters
/// (accept and send the transfer-out data, refuse, or hold) and confirms the transfer-out data we
/// send for its own letters; writes its messages signed with its own keys on partner-inbound.
/// With a `Bank` it also plays the banks between the centres: the settlement notice of the money
/// it transfers to us, and our bank's payouts of what we transfer to it.
/// Used by the tests, by `make run` (through `hpfctl partner-city`) and by anyone building a
/// partner side from the AsyncAPI document.
public final class PartnerCitySimulator: Sendable {
    /// A simulated centre: its city code, signing key and encryption key (what we seal its letters' people to).
    public struct City: Sendable {
        public let code: String
        public let keyId: String
        public let key: Curve25519.Signing.PrivateKey
        public let encryptionKeyId: String
        public let encryptionKey: Curve25519.KeyAgreement.PrivateKey

        public init(
            code: String, keyId: String, key: Curve25519.Signing.PrivateKey, encryptionKeyId: String,
            encryptionKey: Curve25519.KeyAgreement.PrivateKey
        ) {
            self.code = code
            self.keyId = keyId
            self.key = key
            self.encryptionKeyId = encryptionKeyId
            self.encryptionKey = encryptionKey
        }

        /// A city signing with `key`, its encryption key the development one.
        public init(code: String, keyId: String, key: Curve25519.Signing.PrivateKey) {
            self.init(code: code, keyId: keyId, key: key, encryptionKeyId: "\(code)-dev-enc-1", encryptionKey: PartnerSealing.developmentKey(city: code))
        }

        /// The development keys of a city (deterministic, so a restarted simulator keeps its keys).
        public static func development(_ code: String) -> City {
            City(
                code: code, keyId: "\(code)-dev-1", key: PartnerSignature.developmentKey(city: code),
                encryptionKeyId: "\(code)-dev-enc-1", encryptionKey: PartnerSealing.developmentKey(city: code))
        }

        public var publicKey: String { key.publicKey.rawRepresentation.base64EncodedString() }
        public var encryptionPublicKey: String { encryptionKey.publicKey.rawRepresentation.base64EncodedString() }
    }

    /// The banks between the centres, reached over HTTP as the `bank` channel: `post(path, body)`
    /// sends one signed request to regional-sync and returns the HTTP status.
    public struct Bank: Sendable {
        public let post: @Sendable (_ path: String, _ body: String) async throws -> Int
        /// Whether our bank manages to pay a transfer payout to this city (else it fails).
        public let pays: @Sendable (TransferPayoutInstruction) -> Bool

        public init(
            pays: @escaping @Sendable (TransferPayoutInstruction) -> Bool = { _ in true },
            post: @escaping @Sendable (_ path: String, _ body: String) async throws -> Int
        ) {
            self.post = post
            self.pays = pays
        }

        /// Sends until the answer is final: a 2xx or 4xx (a 409 is a repeat), or gives up after 20 tries.
        func send(_ path: String, _ body: String, logger: Logger) async throws -> Int {
            var status = 0
            for attempt in 1...20 {
                do {
                    status = try await post(path, body)
                    if status < 500 { return status }
                } catch {
                    logger.warning("bank request failed; retrying", metadata: ["path": "\(path)", "error": "\(error)"])
                }
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
            return status
        }
    }

    /// How the partner answers a contact letter we send it.
    public enum Answer: Sendable, Equatable {
        case transfer(PartnerAccount)  // accept (02), then send the transfer-out data
        case refuse(String)  // refuse (13) with this code
        case hold  // say nothing (the letter stays 01)
    }

    /// The person's account at the partner, as its transfer-out data will say.
    public struct PartnerAccount: Sendable, Equatable {
        public var accountNumber: String
        public var principalFen: Fen
        public var interestFen: Fen
        /// What the data says the amount is (principal + interest unless a test wants it wrong).
        public var amountFen: Fen
        public var months: [YearMonth]
        /// What its bank actually transfers (the settlement notice we receive): the amount, unless
        /// a test wants it different, or nil for data sent without any money.
        public var fundsFen: Fen?

        /// What its bank transfers: what the data says (`asData`), another amount, or nothing.
        public enum Funds: Sendable, Equatable { case asData, amount(Fen), none }

        public init(
            accountNumber: String, principalFen: Fen, interestFen: Fen, amountFen: Fen? = nil, months: [YearMonth],
            funds: Funds = .asData
        ) {
            self.accountNumber = accountNumber
            self.principalFen = principalFen
            self.interestFen = interestFen
            self.amountFen = amountFen ?? principalFen + interestFen
            self.months = months
            switch funds {
            case .asData: fundsFen = self.amountFen
            case .amount(let fen): fundsFen = fen
            case .none: fundsFen = nil
            }
        }

        /// A plausible account: 18 months of contributions up to the month before `date`.
        public static func typical(for letter: TransferApplication) -> PartnerAccount {
            let months = (1...18).map { letter.appliedOn.yearMonth.adding(months: -$0) }.sorted()
            return PartnerAccount(
                accountNumber: letter.sendingCity + "88" + String(letter.letterNumber.suffix(8)), principalFen: 3_600_000,
                interestFen: 27_135, months: months)
        }
    }

    /// One message the partner received from us, after checking our signature.
    public struct Received: Sendable {
        public let type: String
        public let city: String
        public let letterNumber: String?
        public let verified: Bool
        public let value: [UInt8]
        /// A contact letter's personal fields, opened with the city's own encryption key.
        public let personal: PersonalFields?
    }

    public let cities: [City]
    let brokers: String
    let ourKeys: [String: Curve25519.Signing.PublicKey]
    /// Our encryption key: the simulator's own letters seal their person to it (clear fields, deprecated, without it).
    let ourRecipientKey: PartnerSealing.RecipientKey?
    let bank: Bank?
    let answer: @Sendable (TransferApplication) -> Answer
    /// Whether it can credit our transfer-out data (else it fails the transfer: 40).
    let credit: @Sendable (TransferOutData) -> Bool
    let producer: KafkaProducer
    let logger: Logger
    let verbose: Bool
    private let received = Mutex<[Received]>([])
    /// The ids of the verified messages handled: delivery is at least once, and a partner
    /// handles each CloudEvents id once (docs/asyncapi-partner.yaml), as this one does.
    private let seen = Mutex<Set<String>>([])

    /// - Parameters:
    ///   - ourKeys: Lianyungang's public keys by key id (from `GET /v1/partners`).
    ///   - answer: how to answer each contact letter (default: transfer a typical account).
    ///   - credit: whether to credit our transfer-out data (default: yes, when it adds up).
    public init(
        cities: [City], brokers: String, ourKeys: [String: Curve25519.Signing.PublicKey],
        ourRecipientKey: PartnerSealing.RecipientKey? = nil, bank: Bank? = nil, verbose: Bool = false,
        logger: Logger = Logger(label: "partner-city"),
        answer: @escaping @Sendable (TransferApplication) -> Answer = { .transfer(.typical(for: $0)) },
        credit: @escaping @Sendable (TransferOutData) -> Bool = { _ in true }
    ) throws {
        self.cities = cities
        self.brokers = brokers
        self.ourKeys = ourKeys
        self.ourRecipientKey = ourRecipientKey
        self.bank = bank
        self.answer = answer
        self.credit = credit
        self.logger = logger
        self.verbose = verbose
        producer = try KafkaProducer(configuration: .producer(brokers: brokers, clientID: "partner-city-sim"), logger: logger)
    }

    /// Everything received so far (for tests and the demo).
    public var messages: [Received] { received.withLock { $0 } }

    /// The types received about one letter, in order.
    public func types(letter: String) -> [String] { messages.filter { $0.letterNumber == letter }.map(\.type) }

    /// Reads its cities' partner-outbound topics and answers, until cancelled. `group` names the consumer
    /// group (a fresh one reads from the beginning).
    public func run(group: String) async throws {
        // Each simulated city reads its own outbound topic only (created here too, so the
        // subscription does not wait for regional-sync to have started).
        // With a bank, our bank's payout instructions too (it pays those addressed to its cities).
        let topics = cities.map { Topic.partnerOutbound(city: $0.code) } + (bank == nil ? [] : [Topic.transferPayoutInstructions.name])
        try await producer.createTopics(topics.map { TopicSpec(name: $0, partitions: 3) })
        let consumer = try KafkaConsumer(
            configuration: .consumer(brokers: brokers, groupID: group, clientID: "partner-city-sim"),
            topics: topics, logger: logger)
        do {
            while !Task.isCancelled {
                for message in try await consumer.poll(maxMessages: 100, timeoutMs: 200) {
                    try await handle(message)
                    try consumer.storeOffset(message)
                }
            }
        } catch is CancellationError {}
        await consumer.close()
    }

    func handle(_ message: KafkaMessage) async throws {
        guard let header = try? CloudEventCoding.header(from: message.value) else { return }
        if header.type == EventType.transferPayoutInstruction.rawValue {
            return try await pay(try CloudEventCoding.decode(TransferPayoutInstruction.self, from: message.value).data)
        }
        let verified: Bool
        switch PartnerSignature.verify(value: message.value, headers: message.headers, now: Date(), publicKey: { self.ourKeys[$0] }) {
        case .success: verified = true
        case .failure: verified = false
        }
        struct Letter: Codable, Sendable { var letterNumber: String; var receivingCity: String; var sendingCity: String }
        guard let letter = try? JSONDecoder().decode(CloudEvent<Letter>.self, from: Data(message.value)).data else { return }
        // Addressed to whichever of its cities the letter names (the other one is Lianyungang).
        guard let city = cities.first(where: { $0.code == letter.receivingCity || $0.code == letter.sendingCity }) else { return }
        var personal: PersonalFields?
        if header.type == EventType.transferApplication.rawValue,
            let sealed = (try? CloudEventCoding.decode(TransferApplication.self, from: message.value))?.data.personal
        {
            personal = try? PartnerSealing.open(sealed, letterNumber: letter.letterNumber, keys: [city.encryptionKeyId: city.encryptionKey])
        }
        if verified, !seen.withLock({ $0.insert(header.id).inserted }) { return }
        received.withLock {
            $0.append(
                Received(
                    type: header.type, city: city.code, letterNumber: letter.letterNumber, verified: verified,
                    value: message.value, personal: personal))
        }
        if verbose { print("partner-city \(city.code): received \(header.type) for letter \(letter.letterNumber)\(verified ? "" : " (UNVERIFIED, ignored)")") }
        guard verified else { return }
        switch EventType(rawValue: header.type) {
        case .transferApplication:
            let application = try CloudEventCoding.decode(TransferApplication.self, from: message.value).data
            try await answerLetter(application, as: city)
        case .transferOutData:
            let data = try CloudEventCoding.decode(TransferOutData.self, from: message.value).data
            let outcome = TransferOutcome(
                letterNumber: data.letterNumber, receivingCity: city.code, sendingCity: data.sendingCity,
                creditedFen: data.amountFen)
            if data.principalFen + data.interestFen != data.amountFen || !credit(data) {
                var failed = outcome
                failed.creditedFen = nil
                failed.code = data.principalFen + data.interestFen == data.amountFen ? "receiving_account_closed" : "amount_mismatch"
                try await send(failed.code == "amount_mismatch" ? .transferDisputed : .transferFailed, failed, from: city, subject: data.letterNumber)
            } else {
                try await send(.transferConfirmed, outcome, from: city, subject: data.letterNumber)
            }
        default: break
        }
    }

    func answerLetter(_ application: TransferApplication, as city: City) async throws {
        let reply = TransferAnswer(letterNumber: application.letterNumber, receivingCity: application.receivingCity, sendingCity: city.code)
        switch answer(application) {
        case .hold: return
        case .refuse(let code):
            var refused = reply
            refused.code = code
            refused.detail = "refused by the simulated centre of \(city.code)"
            try await send(.transferRefused, refused, from: city, subject: application.letterNumber)
        case .transfer(let account):
            try await send(.transferAccepted, reply, from: city, subject: account.accountNumber)
            let paidUpTo = account.months.max()
            let data = TransferOutData(
                letterNumber: application.letterNumber, receivingCity: application.receivingCity, sendingCity: city.code,
                sendingAccountNumber: account.accountNumber, principalFen: account.principalFen, interestFen: account.interestFen,
                amountFen: account.amountFen, openedMonth: account.months.min() ?? application.appliedOn.yearMonth, paidUpToMonth: paidUpTo,
                lastSixMonthsContinuous: TransferRules.continuous(
                    months: Set(account.months), paidUpTo: paidUpTo,
                    window: PolicyParameters.lianyungang2025.transferContinuityMonths.value(on: application.appliedOn)),
                contributionMonths: account.months, hadHpfLoan: false, hasUnsettledHpfLoan: false, sentOn: application.appliedOn)
            try await send(.transferOutData, data, from: city, subject: account.accountNumber)
            // Its bank moves the money; ours tells us when it has arrived.
            if let bank, let funds = account.fundsFen {
                let notice =
                    #"{"letterNumber":"\#(application.letterNumber)","sendingCity":"\#(city.code)","amountFen":\#(funds),"bankReference":"SIM\#(application.letterNumber)"}"#
                let status = try await bank.send("/v1/transfers/settlements", notice, logger: logger)
                if verbose { print("partner-city \(city.code): bank settled \(funds) fen for letter \(application.letterNumber) (HTTP \(status))") }
            }
        }
    }

    /// Plays our bank paying a transfer out to one of its cities, and confirms it to us.
    func pay(_ instruction: TransferPayoutInstruction) async throws {
        guard let bank, cities.contains(where: { $0.code == instruction.receivingCity }) else { return }
        let paid = bank.pays(instruction)
        let body =
            paid
            ? #"{"outcome":"paid","channelRef":"SIM-\#(instruction.payoutId)"}"#
            : #"{"outcome":"failed","channelRef":"SIM-\#(instruction.payoutId)","failureCode":"receiving_bank_refused"}"#
        let status = try await bank.send("/v1/transfer-payouts/\(instruction.payoutId)/confirmation", body, logger: logger)
        if verbose {
            print(
                "partner-city \(instruction.receivingCity): bank \(paid ? "received" : "refused") \(instruction.amountFen) fen for letter \(instruction.letterNumber) (HTTP \(status))"
            )
        }
    }

    /// The partner writes a contact letter to us: it asks us to transfer a person's account out.
    @discardableResult
    public func applyForTransferOut(
        from city: City, name: String, idNumber: String, ourAccountNumber: String?, theirAccountNumber: String,
        on date: BusinessDate, sequence: Int
    ) async throws -> String {
        let letter = ContactLetter.number(receivingCity: city.code, on: date, sequence: sequence)
        let fields = PersonalFields(name: name, idNumber: idNumber)
        var application = TransferApplication(
            letterNumber: letter, receivingCity: city.code,
            sendingCity: PolicyParameters.lianyungang2025.cityCode.value,
            personal: try ourRecipientKey.map { try PartnerSealing.seal(fields, to: $0, letterNumber: letter) },
            receivingAccountNumber: theirAccountNumber, sendingAccountNumber: ourAccountNumber, appliedOn: date)
        if application.personal == nil {
            // Without our encryption key: the first version's clear fields (deprecated).
            application.name = name
            application.idNumber = idNumber
        }
        try await send(.transferApplication, application, from: city, subject: theirAccountNumber)
        return letter
    }

    /// A signed message from `city` on partner-inbound. `signedAt` and `signWith` let tests forge.
    public func send<P: Codable & Sendable>(
        _ type: EventType, _ data: P, from city: City, subject: String, id: UUID = UUID(),
        signedAt: Date = Date(), signWith: City? = nil
    ) async throws {
        let event = CloudEvent(id: id, source: PartnerMessage.source(city: city.code), type: type.rawValue, subject: subject, data: data)
        let value = try CloudEventCoding.encode(event)
        let signer = signWith ?? city
        let headers =
            [KafkaHeader(name: "content-type", value: CloudEventCoding.contentType)]
            + (try PartnerSignature.headers(for: value, keyId: signer.keyId, key: signer.key, at: signedAt))
        // The record key is the letter number: every message about one letter stays in order.
        let letter = try? CloudEventCoding.decode(LetterReference.self, from: value).data.letterNumber
        try await sendRaw(value: value, headers: headers, key: letter ?? subject)
    }

    /// Any bytes and headers on partner-inbound (for tests of what must be refused).
    public func sendRaw(value: [UInt8], headers: [KafkaHeader], key: String) async throws {
        _ = try await producer.send(OutgoingMessage(topic: Topic.partnerInbound.name, key: key, value: value, headers: headers))
        if verbose { print("partner-city: sent \((try? CloudEventCoding.header(from: value).type) ?? "?")") }
    }
}

public extension PartnerCitySimulator {
    /// Flushes and closes the producer.
    func close() async { await producer.shutdown() }
}

/// The letter number every partner message carries.
private struct LetterReference: Codable, Sendable { var letterNumber: String }
