import Contracts
import Contribution
import Crypto
import Enrolment
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Loan
import PartnerCity
import Policy
import RegionalSync
import ServiceRuntime
import Testing
import Withdrawal

/// §17 transfers with partner cities end to end: the regional-sync service, the ledger, the
/// enrolment and loan services on the real broker and Postgres, and the partner-city simulator
/// playing the other centre with its own keys. Each test plays a different partner city, so the
/// simulators (each reading its cities' own partner-outbound topics from the beginning) never
/// answer another test's letters.
@Suite("Transfers with border-region partner cities")
struct TransferTests {

    struct Clients: Sendable {
        let enrolment: JSONClient
        let ledger: JSONClient
        let regional: JSONClient
        let loan: JSONClient
    }

    static func regionalApp(_ config: ServiceConfig) throws -> some ApplicationProtocol {
        try RegionalSyncService.buildApplication(config: config, clock: TestStack.clock)
    }

    func withServices(
        regional config: ServiceConfig = TestStack.config(RegionalSyncService.descriptor),
        _ body: @escaping @Sendable (Clients) async throws -> Void
    ) async throws {
        try await TestStack.withServices([
            .init(EnrolmentService.self), .init(ContributionService.self), .init(LoanService.self),
            .init(RegionalSyncService.self, config: config),
        ]) {
            try await body(Clients(enrolment: $0.enrolment, ledger: $0.ledger, regional: $0.regional, loan: $0.loan))
        }
    }

    /// Our public keys as a partner reads them from our entry in the partner list.
    struct OurKeys: Sendable {
        var signing: [String: Curve25519.Signing.PublicKey] = [:]
        var encryption: PartnerSealing.RecipientKey?
    }

    /// Registers `city`'s development keys (signing and encryption) with us; returns our public keys.
    static func register(_ city: String, _ regional: JSONClient) async throws -> OurKeys {
        let partner = PartnerCitySimulator.City.development(city)
        for body in [
            #"{"keyId":"\#(partner.keyId)","publicKey":"\#(partner.publicKey)"}"#,
            #"{"keyId":"\#(partner.encryptionKeyId)","use":"encryption","publicKey":"\#(partner.encryptionPublicKey)"}"#,
        ] {
            let registered = try await regional.post("/v1/partners/\(city)/keys", body)
            #expect(registered.status == 201 || registered.string("code") == "key_id_taken", "\(registered.text)")
        }
        let partners = try #require(try await regional.get("/v1/partners")["partners"] as? [[String: Any]])
        let ours = try #require(partners.first { $0["us"] as? Bool == true }?["keys"] as? [[String: Any]])
        var keys = OurKeys()
        for key in ours {
            guard let id = key["keyId"] as? String, let encoded = key["publicKey"] as? String else { continue }
            if key["use"] as? String == "encryption" {
                keys.encryption = PartnerSealing.publicKey(base64: encoded).map { .init(keyId: id, key: $0) }
            } else if let raw = Data(base64Encoded: encoded) {
                keys.signing[id] = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
            }
        }
        return keys
    }

    /// The banks between the centres, as the simulator plays them: requests signed by the `bank` channel.
    static func bank(_ regional: JSONClient, pays: @escaping @Sendable (TransferPayoutInstruction) -> Bool = { _ in true }) -> PartnerCitySimulator.Bank {
        PartnerCitySimulator.Bank(pays: pays) { path, body in try await regional.post(path, body, as: .channel("bank")).status }
    }

    /// Runs a simulator for `city` (its keys registered with us, and the banks played) while `body` runs.
    static func withPartner<T: Sendable>(
        _ city: String, _ regional: JSONClient,
        answer: @escaping @Sendable (TransferApplication) -> PartnerCitySimulator.Answer = { .transfer(.typical(for: $0)) },
        credit: @escaping @Sendable (TransferOutData) -> Bool = { _ in true },
        pays: @escaping @Sendable (TransferPayoutInstruction) -> Bool = { _ in true },
        _ body: @Sendable (PartnerCitySimulator) async throws -> T
    ) async throws -> T {
        try await withPartner(city, keys: try await register(city, regional), bank: Self.bank(regional, pays: pays), answer: answer, credit: credit, body)
    }

    static func withPartner<T: Sendable>(
        _ city: String, keys: OurKeys, bank: PartnerCitySimulator.Bank? = nil,
        answer: @escaping @Sendable (TransferApplication) -> PartnerCitySimulator.Answer,
        credit: @escaping @Sendable (TransferOutData) -> Bool = { _ in true },
        _ body: @Sendable (PartnerCitySimulator) async throws -> T
    ) async throws -> T {
        let simulator = try PartnerCitySimulator(
            cities: [.development(city)], brokers: TestStack.brokers, ourKeys: keys.signing,
            ourRecipientKey: keys.encryption, bank: bank, logger: TestStack.logger,
            answer: answer, credit: credit)
        let running = Task { try await simulator.run(group: TestStack.unique("partner-\(city)")) }
        do {
            let result = try await body(simulator)
            running.cancel()
            _ = await running.result
            await simulator.close()
            return result
        } catch {
            running.cancel()
            _ = await running.result
            await simulator.close()
            throw error
        }
    }

    /// A person enrolled here (no contributions), known to the regional-sync service.
    static func person(_ s: Clients) async throws -> (account: String, id: String) {
        let id = TestStack.newResidentID(
            birth: String(format: "19%02d-%02d-%02d", Int.random(in: 80...99), Int.random(in: 1...12), Int.random(in: 1...28)),
            male: Bool.random())
        let account = try await TestStack.enrol(s.enrolment, s.ledger, Bodies.enrolment(idNumber: id))
        #expect(try await TestStack.eventually { try await s.regional.get("/v1/accounts/\(account)/recognised-months").status == 200 })
        return (account, id)
    }

    static func transferIn(_ account: String, _ id: String, from city: String) -> String {
        #"{"accountNumber":"\#(account)","name":"张伟","idNumber":"\#(id)","partnerCity":"\#(city)"}"#
    }

    /// The receiving bank's settlement notice for `letter` (sent as the `bank` channel).
    static func notice(_ letter: String, from city: String, amountFen: Int, reference: String = TestStack.unique("BANK")) -> String {
        #"{"letterNumber":"\#(letter)","sendingCity":"\#(city)","amountFen":\#(amountFen),"bankReference":"\#(reference)"}"#
    }

    static func awaitState(_ s: Clients, _ transfer: String, _ state: String) async throws -> JSONClient.Reply {
        var last: JSONClient.Reply?
        let reached = try await TestStack.eventually {
            last = try await s.regional.get("/v1/transfers/\(transfer)")
            return last?.string("state") == state
        }
        #expect(reached, "transfer \(transfer) reaches \(state); last: \(last?.text ?? "")")
        return try #require(last)
    }

    static func ledgerPostings(_ s: Clients, _ account: String) async throws -> [[String: Any]] {
        try await s.ledger.get("/v1/accounts/\(account)/ledger")["entries"] as? [[String: Any]] ?? []
    }

    @Test("transfer in: letter, acceptance, data checked, ledger credit with the principal as a lot, recognised months for the loan rule, confirmation")
    func transferIn() async throws {
        try await withServices { s in
            let (account, id) = try await Self.person(s)
            var before: JSONClient.Reply?
            #expect(
                try await TestStack.eventually {
                    before = try await s.loan.get("/v1/accounts/\(account)/loan-quota")
                    return before?.status == 200
                }, "the loan service knows the account")
            #expect((before?["reasons"] as? [String])?.contains("contribution_months_below_6") == true, "\(before?.text ?? "")")
            let months = (1...18).map { YearMonth(year: 2024, month: 1).adding(months: $0 - 1) }
            let account18 = PartnerCitySimulator.PartnerAccount(
                accountNumber: "3203008800001234", principalFen: 3_600_000, interestFen: 27_135,
                months: months)
            // (Xuzhou's simulator in the funds test reads the same topic: each answers its own people's letters only.)
            try await Self.withPartner("320300", s.regional, answer: { $0.receivingAccountNumber == account ? .transfer(account18) : .hold }) { partner in
                let started = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "320300"))
                #expect(started.status == 201, "\(started.text)")
                #expect(started.string("state") == "01" && started.string("stateName") == "letter_checked")
                let letter = try #require(started.string("letterNumber"))
                #expect(letter.count == 20 && letter.hasPrefix("32070020260316"), "receiving city + business date + sequence")
                #expect(started.string("idNumberMasked") == ResidentID.mask(id) && !started.text.contains(id), "the ID number is masked")
                let transfer = try #require(started.string("transferId"))

                let done = try await Self.awaitState(s, transfer, "00")
                #expect((done["steps"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["01", "02", "08", "00"])
                #expect(done.int("amountFen") == 3_627_135 && done.int("principalFen") == 3_600_000 && done.int("interestFen") == 27_135)
                // Credited only once the bank's settlement notice had come, for the same amount.
                #expect((done["settlement"] as? [String: Any])?["amountFen"] as? Int == 3_627_135, "\(done.text)")
                // The ledger: one transfer_in posting of principal + interest.
                let postings = try await Self.ledgerPostings(s, account)
                #expect(postings.contains { $0["kind"] as? String == "transfer_in" && ($0["amountFen"] as? NSNumber)?.int64Value == 3_627_135 })
                #expect(try await s.ledger.get("/v1/accounts/\(account)/balance").int("balanceFen") == 3_627_135)
                // Recognised months, here and in the loan service's 6-month rule.
                let recognised = try await s.regional.get("/v1/accounts/\(account)/recognised-months")
                #expect(recognised.int("count") == 18)
                // The ledger's balance view: the transferred-in money apart from own contributions,
                // own months apart from recognised ones, and the total the loan rule counts.
                var view: JSONClient.Reply?
                #expect(
                    try await TestStack.eventually {
                        view = try await s.ledger.get("/v1/accounts/\(account)/balance")
                        return view?.int("recognisedMonths") == 18
                    }, "the ledger hears of the recognised months: \(view?.text ?? "")")
                #expect(view?.int("transferredInFen") == 3_627_135 && view?.int("contributedFen") == 0, "\(view?.text ?? "")")
                #expect(view?.int("ownContributionMonths") == 0 && view?.int("totalContributionMonths") == 18, "\(view?.text ?? "")")
                #expect(
                    try await TestStack.eventually {
                        let quota = try await s.loan.get("/v1/accounts/\(account)/loan-quota")
                        return (quota["reasons"] as? [String]).map { !$0.contains("contribution_months_below_6") } ?? false
                    }, "the loan service counts the recognised months")
                // The partner received our letter and our confirmation, both signed by us.
                #expect(
                    try await TestStack.eventually {
                        partner.types(letter: letter).contains(EventType.transferConfirmed.rawValue)
                    })
                #expect(partner.messages.filter { $0.letterNumber == letter }.allSatisfy { $0.verified })
                let application = try #require(partner.messages.first { $0.letterNumber == letter && $0.type == EventType.transferApplication.rawValue })
                let sent = try CloudEventCoding.decode(TransferApplication.self, from: application.value).data
                #expect(sent.receivingAccountNumber == account && sent.idNumber == nil && sent.name == nil, "no personal field in clear")
                #expect(application.personal == PersonalFields(name: "张伟", idNumber: id), "Xuzhou opens the person with its own key")
                let text = String(decoding: application.value, as: UTF8.self)
                #expect(!text.contains(id) && !text.contains("张伟") && !text.contains("\\u5f20"), "the record carries neither in any form")
                // Sealed to Xuzhou: no other city's key opens it, nor Xuzhou's for another letter.
                let sealed = try #require(sent.personal)
                let suqian = PartnerCitySimulator.City.development("321300")
                #expect(throws: PartnerSealing.Refusal.undecryptable) {
                    try PartnerSealing.open(sealed, letterNumber: letter, keys: [sealed.keyId: suqian.encryptionKey])
                }
                let xuzhou = PartnerCitySimulator.City.development("320300")
                #expect(throws: PartnerSealing.Refusal.undecryptable) {
                    try PartnerSealing.open(sealed, letterNumber: "32070020260316999999", keys: [sealed.keyId: xuzhou.encryptionKey])
                }
                // The letter with the ID number left our outbox once delivered (personal data is not kept).
                let pattern = "%" + id + "%"
                let kept = try await TestStack.withDatabase(of: RegionalSyncService.descriptor) { db -> Int in
                    var count = -1
                    for try await n in try await db.query("SELECT count(*)::int FROM outbox WHERE payload LIKE \(pattern)").decode(Int.self) { count = n }
                    return count
                }
                #expect(kept == 0)
                // The subsidy lot: the principal (not the interest) is a lot the ledger's debits consume.
                let lots = try await TestStack.read(topic: Topic.contributionEvents.name, count: 1) {
                    $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == EventType.transferInPosted.rawValue
                }
                let posted = try CloudEventCoding.decode(TransferInPosted.self, from: try #require(lots.first).value).data
                #expect(posted.principalFen == 3_600_000 && posted.interestFen == 27_135)
                // The internal topics never carry the ID number.
                let internalEvents = try await TestStack.read(topic: Topic.regionalEvents.name, count: 4) { $0.keyString == account }
                #expect(internalEvents.count >= 4 && internalEvents.allSatisfy { !String(decoding: $0.value, as: UTF8.self).contains(id) })
            }
        }
    }

    @Test("transfer in waits for the funds: data without money moves none, a notice that disagrees goes to 06, the bank's notice alone credits")
    func transferInFunds() async throws {
        try await withServices { s in
            let short = try await Self.person(s)
            let unpaid = try await Self.person(s)
            let months = [YearMonth(year: 2025, month: 1), YearMonth(year: 2025, month: 2)]
            let answers: [String: PartnerCitySimulator.Answer] = [
                // Its bank transfers 1 fen less than its data says.
                short.account: .transfer(
                    .init(
                        accountNumber: "3203008811110001", principalFen: 200_000, interestFen: 1_000, months: months,
                        funds: .amount(200_999))),
                // Data, but no money at all (what a forged data message amounts to).
                unpaid.account: .transfer(.init(accountNumber: "3203008811110002", principalFen: 300_000, interestFen: 0, months: months, funds: .none)),
            ]
            try await Self.withPartner("320300", s.regional, answer: { answers[$0.receivingAccountNumber] ?? .hold }) { partner in
                let first = try await s.regional.post("/v1/transfers/in", Self.transferIn(short.account, short.id, from: "320300"))
                let second = try await s.regional.post("/v1/transfers/in", Self.transferIn(unpaid.account, unpaid.id, from: "320300"))
                let disputedTransfer = try #require(first.string("transferId"), "\(first.text)")
                let waiting = try #require(second.string("transferId"), "\(second.text)")
                let letter = try #require(second.string("letterNumber"))

                // The notice disagrees with the data: negotiation (06), the partner told, nothing credited.
                let disputed = try await Self.awaitState(s, disputedTransfer, "06")
                #expect(disputed.string("code") == "settlement_mismatch" && (disputed["settlement"] as? [String: Any])?["amountFen"] as? Int == 200_999)
                let disputedLetter = try #require(first.string("letterNumber"))
                #expect(try await TestStack.eventually { partner.types(letter: disputedLetter).contains(EventType.transferDisputed.rawValue) })
                #expect(try await Self.ledgerPostings(s, short.account).allSatisfy { $0["kind"] as? String != "transfer_in" })

                // The data checked out, but no money came: it waits in 08 and the ledger is never asked.
                let checked = try await Self.awaitState(s, waiting, "08")
                #expect(checked["settlement"] == nil && checked.int("amountFen") == 300_000)
                #expect(try await Self.ledgerPostings(s, unpaid.account).allSatisfy { $0["kind"] as? String != "transfer_in" })
                #expect(try await s.ledger.get("/v1/accounts/\(unpaid.account)/balance").int("balanceFen") == 0)

                // Only the bank may say the money came, and only for a letter we hold, from the city that owes it.
                let body = Self.notice(letter, from: "320300", amountFen: 300_000, reference: TestStack.unique("ICBC"))
                #expect(try await s.regional.post("/v1/transfers/settlements", body, as: .anonymous).status == 401)
                #expect(try await s.regional.post("/v1/transfers/settlements", body, as: .channel("wechat")).status == 403)
                #expect(try await s.regional.post("/v1/transfers/settlements", body, as: .officer).status == 403)
                #expect(try await s.regional.post("/v1/transfers/settlements", Self.notice(letter, from: "321300", amountFen: 300_000)).status == 404)
                #expect(try await s.regional.post("/v1/transfers/settlements", Self.notice(letter, from: "320300", amountFen: 0)).status == 400)
                #expect(
                    try await s.regional.post("/v1/transfers/settlements", Self.notice(letter, from: "320300", amountFen: 300_000, reference: "a b")).status
                        == 400)
                #expect(
                    try await s.regional.post(
                        "/v1/transfers/settlements",
                        Self.notice(letter, from: "320300", amountFen: 9_000_000_000_000_000)
                    ).status == 400)

                // The bank's notice: now the ledger credits it, once.
                let settled = try await s.regional.post("/v1/transfers/settlements", body)
                #expect(settled.status == 200 && (settled["settlement"] as? [String: Any])?["amountFen"] as? Int == 300_000, "\(settled.text)")
                let repeated = try await s.regional.post("/v1/transfers/settlements", body)
                #expect(repeated.status == 200, "the same notice again changes nothing: \(repeated.text)")
                let other = try await s.regional.post("/v1/transfers/settlements", Self.notice(letter, from: "320300", amountFen: 300_001))
                #expect(other.status == 409 && other.string("code") == "settlement_already_received")
                let done = try await Self.awaitState(s, waiting, "00")
                #expect((done["steps"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["01", "02", "08", "00"])
                #expect(try await Self.ledgerPostings(s, unpaid.account).filter { $0["kind"] as? String == "transfer_in" }.count == 1)
                #expect(try await s.ledger.get("/v1/accounts/\(unpaid.account)/balance").int("balanceFen") == 300_000)
            }
        }
    }

    @Test("transfer in: bad requests, cancel only in 01, a refused letter, data that does not add up is negotiated")
    func transferInRules() async throws {
        try await withServices { s in
            let (account, id) = try await Self.person(s)
            let other = try await Self.person(s)
            #expect(try await s.regional.post("/v1/transfers/in", Self.transferIn(account, other.id, from: "370800")).string("code") == "person_mismatch")
            #expect(
                try await s.regional.post("/v1/transfers/in", Self.transferIn(account, "110105194912310021", from: "370800")).string("code")
                    == "invalid_id_number")
            #expect(try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "320700")).string("code") == "unknown_partner")
            #expect(try await s.regional.post("/v1/transfers/in", Self.transferIn("3207009999999999", id, from: "370800")).status == 404)
            #expect(try await s.regional.post("/v1/transfers/in", #"{"accountNumber":"x"}"#).status == 400)

            // Jining holds the letter: it stays 01 and can be cancelled; the partner is told.
            try await Self.withPartner("370800", s.regional, answer: { _ in .hold }) { partner in
                let held = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "370800"))
                let transfer = try #require(held.string("transferId"))
                let second = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "370800"))
                #expect(second.status == 409 && second.string("code") == "transfer_in_progress", "one open transfer per account and city")
                let cancelled = try await s.regional.post("/v1/transfers/\(transfer)/cancel", "{}")
                #expect(cancelled.status == 200 && cancelled.string("state") == "05", "\(cancelled.text)")
                let twice = try await s.regional.post("/v1/transfers/\(transfer)/cancel", "{}")
                #expect(twice.status == 409 && twice.string("code") == "transfer_not_cancellable")
                let letter = try #require(held.string("letterNumber"))
                #expect(try await TestStack.eventually { partner.types(letter: letter).contains(EventType.transferCancelled.rawValue) })
            }
            // Zaozhuang accepts at once: after 02 the cancel is refused.
            try await Self.withPartner(
                "370400", s.regional,
                answer: { letter in
                    .transfer(
                        .init(accountNumber: "3704001", principalFen: 100_000, interestFen: 500, amountFen: 100_400, months: [letter.appliedOn.yearMonth]))
                }
            ) { partner in
                let started = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "370400"))
                let transfer = try #require(started.string("transferId"))
                // The data's amount is not principal + interest: negotiating (06), nothing credited.
                let negotiating = try await Self.awaitState(s, transfer, "06")
                #expect(negotiating.string("code") == "amount_mismatch")
                let cancel = try await s.regional.post("/v1/transfers/\(transfer)/cancel", "{}")
                #expect(cancel.status == 409 && cancel.string("code") == "transfer_not_cancellable")
                #expect(try await Self.ledgerPostings(s, account).allSatisfy { $0["kind"] as? String != "transfer_in" })
                // The negotiation goes nowhere: staff fail it (40) and the partner is told.
                let failure = #"{"code":"negotiation_abandoned","detail":"the centres could not agree the amount"}"#
                #expect(try await s.regional.post("/v1/transfers/\(transfer)/failure", failure, as: .anonymous).status == 401)
                let failed = try await s.regional.post("/v1/transfers/\(transfer)/failure", failure)
                #expect(failed.status == 200 && failed.string("state") == "40" && failed.string("code") == "negotiation_abandoned", "\(failed.text)")
                let again = try await s.regional.post("/v1/transfers/\(transfer)/failure", failure)
                #expect(again.status == 409 && again.string("code") == "transfer_not_failable")
                let letter = try #require(started.string("letterNumber"))
                #expect(try await TestStack.eventually { partner.types(letter: letter).contains(EventType.transferFailed.rawValue) })
            }
            // Linyi refuses: 13 with its code.
            try await Self.withPartner("371300", s.regional, answer: { _ in .refuse("account_frozen") }) { _ in
                let started = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "371300"))
                let refused = try await Self.awaitState(s, try #require(started.string("transferId")), "13")
                #expect(refused.string("code") == "account_frozen")
            }
            #expect(try await s.regional.get("/v1/transfers/\(UUID())").status == 404)
        }
    }

    @Test("transfer out: a partner's letter is checked, the whole balance leaves through the ledger, the account closes on confirmation")
    func transferOut() async throws {
        try await withServices { s in
            let (account, id) = try await Self.person(s)
            let paid = try await s.ledger.post(
                "/v1/imports/contributions",
                Bodies.history(
                    account: account, [(120_000, "2025-01-15T10:00:00+08:00"), (130_000, "2025-02-15T10:00:00+08:00")]))
            #expect(paid.int("imported") == 2, "\(paid.text)")
            try await Self.withPartner("321300", s.regional) { partner in
                let suqian = PartnerCitySimulator.City.development("321300")
                // A letter for someone else's account is refused (13) and nothing moves.
                let stranger = try await partner.applyForTransferOut(
                    from: suqian, name: "李娜", idNumber: TestStack.residentID(birth: "1990-01-01", serial: 7, male: false),
                    ourAccountNumber: account, theirAccountNumber: "3213001", on: TestStack.today,
                    sequence: Int.random(in: 1...999_999))
                #expect(try await TestStack.eventually { partner.types(letter: stranger).contains(EventType.transferRefused.rawValue) })
                let refusal = try #require(partner.messages.first { $0.letterNumber == stranger && $0.type == EventType.transferRefused.rawValue })
                #expect(try CloudEventCoding.decode(TransferAnswer.self, from: refusal.value).data.code == "person_mismatch")

                // The person's own letter (found by ID number alone): accepted, debited, data sent, confirmed, closed.
                let letter = try await partner.applyForTransferOut(
                    from: suqian, name: "张伟", idNumber: id, ourAccountNumber: nil,
                    theirAccountNumber: "3213002", on: TestStack.today,
                    sequence: Int.random(in: 1...999_999))
                #expect(
                    try await TestStack.eventually {
                        try await s.ledger.get("/v1/accounts/\(account)/balance").string("status") == "closed"
                    }, "the account closes once the partner confirms")
                #expect(partner.types(letter: letter) == [EventType.transferAccepted.rawValue, EventType.transferOutData.rawValue])
                let dataMessage = try #require(partner.messages.first { $0.letterNumber == letter && $0.type == EventType.transferOutData.rawValue })
                let data = try CloudEventCoding.decode(TransferOutData.self, from: dataMessage.value).data
                // (At least the contributions: another test's annual-subsidy run may have credited a grant.)
                #expect(data.amountFen >= 250_000 && data.principalFen + data.interestFen == data.amountFen)
                #expect(data.contributionMonths.map(\.description) == ["2025-01", "2025-02"] && data.paidUpToMonth?.description == "2025-02")
                #expect(data.lastSixMonthsContinuous == false && data.hadHpfLoan == false && data.sendingAccountNumber == account)
                let postings = try await Self.ledgerPostings(s, account)
                #expect(postings.contains { $0["kind"] as? String == "transfer_out" && ($0["amountFen"] as? NSNumber)?.int64Value == -data.amountFen })
                #expect(try await s.ledger.get("/v1/accounts/\(account)/balance").int("balanceFen") == 0)
                let transfers = try #require(try await s.regional.get("/v1/accounts/\(account)/transfers")["transfers"] as? [[String: Any]])
                let out = try #require(transfers.first { $0["letterNumber"] as? String == letter })
                #expect(out["state"] as? String == "00" && out["direction"] as? String == "out")
                #expect((out["steps"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["02", "08", "00"])
                // The data went out only once our bank had paid the balance to Suqian.
                let payout = try #require(out["payout"] as? [String: Any], "\(out)")
                #expect(payout["status"] as? String == "paid" && payout["amountFen"] as? Int == Int(data.amountFen))
                let instructions = try await TestStack.read(topic: Topic.transferPayoutInstructions.name, count: 1) { $0.keyString == account }
                let instruction = try CloudEventCoding.decode(TransferPayoutInstruction.self, from: try #require(instructions.first).value).data
                #expect(instruction.receivingCity == "321300" && instruction.amountFen == data.amountFen && instruction.letterNumber == letter)
                // The bank's confirmation is the bank's alone, and it stands.
                let confirmation = #"{"outcome":"failed","channelRef":"late"}"#
                #expect(
                    try await s.regional.post("/v1/transfer-payouts/\(instruction.payoutId)/confirmation", confirmation, as: .channel("wechat")).status == 403)
                let late = try await s.regional.post("/v1/transfer-payouts/\(instruction.payoutId)/confirmation", confirmation)
                #expect(late.status == 409 && late.string("code") == "payout_already_confirmed", "\(late.text)")
                #expect(try await s.regional.post("/v1/transfer-payouts/\(UUID())/confirmation", confirmation).status == 404)
            }
        }
    }

    @Test("transfer out: a withdrawal in flight refuses the letter; a partner that cannot credit it fails it and the ledger gives the money back")
    func transferOutCompensation() async throws {
        let withdrawal = try WithdrawalService.buildApplication(config: TestStack.config(WithdrawalService.descriptor), clock: TestStack.clock)
        try await withServices { s in
            try await withdrawal.test(.live) { w in
                let withdrawals = JSONClient(client: w)
                let (account, id) = try await Self.person(s)
                let paid = try await s.ledger.post("/v1/imports/contributions", Bodies.history(account: account, [(300_000, "2025-03-15T10:00:00+08:00")]))
                #expect(paid.int("imported") == 1, "\(paid.text)")
                #expect(try await TestStack.eventually { try await withdrawals.get("/v1/accounts/\(account)/withdrawals").status == 200 })
                // A purchase withdrawal waits for the payment channel (none runs here): it is in flight.
                let pending = try await withdrawals.post("/v1/withdrawals", WithdrawalTests.purchase(account, amountFen: 50_000))
                #expect(pending.status == 202, "\(pending.text)")
                let withdrawalId = try #require(pending.string("withdrawalId"))
                #expect(try await TestStack.eventually { try await withdrawals.get("/v1/withdrawals/\(withdrawalId)").string("stage") == "paying" })
                let suzhou = PartnerCitySimulator.City.development("341300")
                let payouts = PayoutSwitch()
                try await Self.withPartner("341300", s.regional, credit: { _ in false }, pays: { _ in payouts.pays }) { partner in
                    let early = try await partner.applyForTransferOut(
                        from: suzhou, name: "张伟", idNumber: id, ourAccountNumber: account,
                        theirAccountNumber: "3413001", on: TestStack.today, sequence: Int.random(in: 1...999_999))
                    #expect(try await TestStack.eventually { partner.types(letter: early) == [EventType.transferRefused.rawValue] })
                    let refusal = try #require(partner.messages.first { $0.letterNumber == early })
                    #expect(try CloudEventCoding.decode(TransferAnswer.self, from: refusal.value).data.code == "pending_withdrawal")
                    // The payout is confirmed: nothing is in flight any more.
                    let payoutId = try #require(try await withdrawals.get("/v1/withdrawals/\(withdrawalId)").string("payoutId"))
                    let confirmed = try await withdrawals.post("/v1/payouts/\(payoutId)/confirmation", #"{"outcome":"paid","channelRef":"t-1"}"#)
                    #expect(confirmed.status == 200, "\(confirmed.text)")
                    #expect(try await TestStack.eventually { try await withdrawals.get("/v1/withdrawals/\(withdrawalId)").string("status") == "paid" })
                    let balance = try #require(try await s.ledger.get("/v1/accounts/\(account)/balance").int("balanceFen"))
                    // Suzhou applies again (until the regional-sync service has seen the payout end): the letter is
                    // accepted and the balance debited, but Suzhou cannot credit it: 40, and the ledger reverses.
                    var letter = ""
                    for _ in 0..<20 {
                        letter = try await partner.applyForTransferOut(
                            from: suzhou, name: "张伟", idNumber: id, ourAccountNumber: account,
                            theirAccountNumber: "3413002", on: TestStack.today, sequence: Int.random(in: 1...999_999))
                        let current = letter
                        #expect(try await TestStack.eventually { !partner.types(letter: current).isEmpty })
                        guard partner.types(letter: current).first == EventType.transferRefused.rawValue else { break }
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    var transfer: [String: Any]?
                    #expect(
                        try await TestStack.eventually {
                            let list = try await s.regional.get("/v1/accounts/\(account)/transfers")["transfers"] as? [[String: Any]] ?? []
                            transfer = list.first { $0["letterNumber"] as? String == letter }
                            return transfer?["state"] as? String == "40"
                        }, "the partner's failure ends the transfer in 40: \(String(describing: transfer))")
                    #expect((transfer?["steps"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["02", "08", "40"])
                    #expect(
                        try await TestStack.eventually {
                            let now = try await s.ledger.get("/v1/accounts/\(account)/balance")
                            return now.string("status") == "active" && now.int("balanceFen") ?? 0 >= balance
                        }, "the ledger reverses the debit and the account is active again")
                    let kinds = try await Self.ledgerPostings(s, account).compactMap { $0["kind"] as? String }
                    #expect(kinds.contains("transfer_out") && kinds.last == "reversal")

                    // Suzhou applies once more, and this time our bank cannot pay it: refused (13) after
                    // the acceptance, Suzhou told, the debit reversed, the account active again.
                    // (Applied again, as above, while regional-sync has not yet seen the reversal: until then
                    // it refuses the letter at once.)
                    payouts.fail()
                    var unpaid = ""
                    for _ in 0..<20 {
                        unpaid = try await partner.applyForTransferOut(
                            from: suzhou, name: "张伟", idNumber: id, ourAccountNumber: account,
                            theirAccountNumber: "3413003", on: TestStack.today, sequence: Int.random(in: 1...999_999))
                        let current = unpaid
                        #expect(try await TestStack.eventually { !partner.types(letter: current).isEmpty })
                        guard partner.types(letter: current).first == EventType.transferRefused.rawValue else { break }
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    #expect(
                        try await TestStack.eventually {
                            partner.types(letter: unpaid) == [EventType.transferAccepted.rawValue, EventType.transferRefused.rawValue]
                        }, "\(partner.types(letter: unpaid))")
                    let list = try await s.regional.get("/v1/accounts/\(account)/transfers")["transfers"] as? [[String: Any]] ?? []
                    let refused = try #require(list.first { $0["letterNumber"] as? String == unpaid })
                    #expect(refused["state"] as? String == "13" && refused["code"] as? String == "receiving_bank_refused")
                    #expect((refused["payout"] as? [String: Any])?["status"] as? String == "failed")
                    #expect(
                        try await TestStack.eventually {
                            let now = try await s.ledger.get("/v1/accounts/\(account)/balance")
                            let postings = try await Self.ledgerPostings(s, account).compactMap { $0["kind"] as? String }
                            return now.string("status") == "active" && postings.filter { $0 == "reversal" }.count == 2
                        }, "the ledger reverses the second debit too")
                }
            }
        }
    }

    @Test(
        "signed partner messages: a bad signature, an unknown, revoked or expired key, a stale time, a forged source and a replay are dead-lettered and change nothing"
    )
    func refusedMessages() async throws {
        try await withServices { s in
            let (account, id) = try await Self.person(s)
            let keys = try await Self.register("340600", s.regional)
            try await Self.withPartner("340600", keys: keys, answer: { _ in .hold }) { partner in
                let huaibei = PartnerCitySimulator.City.development("340600")
                let started = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "340600"))
                let transfer = try #require(started.string("transferId"))
                let letter = try #require(started.string("letterNumber"))
                let data = TransferOutData(
                    letterNumber: letter, receivingCity: "320700", sendingCity: "340600", sendingAccountNumber: "3406001",
                    principalFen: 500_000, interestFen: 0, amountFen: 500_000, openedMonth: YearMonth(year: 2024, month: 1),
                    paidUpToMonth: YearMonth(year: 2025, month: 12), lastSixMonthsContinuous: true,
                    contributionMonths: [YearMonth(year: 2025, month: 12)], hadHpfLoan: false, hasUnsettledHpfLoan: false,
                    sentOn: TestStack.today)
                let stranger = PartnerCitySimulator.City(code: "340600", keyId: "340600-dev-1", key: Curve25519.Signing.PrivateKey())
                let unknown = PartnerCitySimulator.City(code: "340600", keyId: TestStack.unique("nobody"), key: Curve25519.Signing.PrivateKey())
                let xuzhou = PartnerCitySimulator.City.development("320300")
                var ids: [String: String] = [:]
                func attempt(
                    _ name: String, from city: PartnerCitySimulator.City = huaibei, signedAt: Date = Date(),
                    signWith: PartnerCitySimulator.City? = nil
                ) async throws {
                    let eventID = UUID()
                    ids[eventID.uuidString.lowercased()] = name
                    try await partner.send(.transferOutData, data, from: city, subject: "3406001", id: eventID, signedAt: signedAt, signWith: signWith)
                }
                try await attempt("bad_signature", signWith: stranger)
                try await attempt("unknown_key", signWith: unknown)
                try await attempt("stale_timestamp", signedAt: Date().addingTimeInterval(-3_600))
                // Xuzhou's genuine key, but the message claims to come from Huaibei.
                _ = try await s.regional.post("/v1/partners/320300/keys", #"{"keyId":"\#(xuzhou.keyId)","publicKey":"\#(xuzhou.publicKey)"}"#)
                try await attempt("source_mismatch", signWith: xuzhou)
                // A key Huaibei registered and then had revoked: what it signs now is refused; a key
                // registered with an end date signs nothing after it.
                let retired = PartnerCitySimulator.City(code: "340600", keyId: TestStack.unique("retired"), key: Curve25519.Signing.PrivateKey())
                let registered = try await s.regional.post("/v1/partners/340600/keys", #"{"keyId":"\#(retired.keyId)","publicKey":"\#(retired.publicKey)"}"#)
                #expect(registered.status == 201, "\(registered.text)")
                let revoked = try await s.regional.delete("/v1/partners/340600/keys/\(retired.keyId)")
                #expect(revoked.status == 200 && revoked.string("revokedAt") != nil, "\(revoked.text)")
                #expect(try await s.regional.delete("/v1/partners/340600/keys/\(retired.keyId)", as: .citizen(id)).status == 403)
                #expect(try await s.regional.delete("/v1/partners/340600/keys/nobody-\(UUID().uuidString)").string("code") == "unknown_key")
                try await attempt("revoked_key", signWith: retired)
                let ending = PartnerCitySimulator.City(code: "340600", keyId: TestStack.unique("ending"), key: Curve25519.Signing.PrivateKey())
                let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(120))
                let expiring = try await s.regional.post(
                    "/v1/partners/340600/keys",
                    #"{"keyId":"\#(ending.keyId)","publicKey":"\#(ending.publicKey)","validUntil":"\#(until)"}"#)
                #expect(expiring.status == 201, "\(expiring.text)")
                try await attempt("expired_key", signedAt: Date().addingTimeInterval(200), signWith: ending)
                #expect(
                    try await s.regional.post(
                        "/v1/partners/340600/keys",
                        #"{"keyId":"\#(TestStack.unique("past"))","publicKey":"\#(ending.publicKey)","validUntil":"2020-01-01T00:00:00Z"}"#
                    ).status == 400)
                // No signature at all.
                let unsigned = try CloudEventCoding.encode(
                    CloudEvent(
                        source: PartnerMessage.source(city: "340600"), type: EventType.transferOutData.rawValue,
                        subject: "3406001", data: data))
                try await partner.sendRaw(value: unsigned, headers: [], key: "3406001")
                ids[try CloudEventCoding.header(from: unsigned).id] = "missing_signature"
                // A genuine answer (accepted, 02), then the very same message again: the replay is refused.
                let accepted = UUID()
                let answer = TransferAnswer(letterNumber: letter, receivingCity: "320700", sendingCity: "340600")
                try await partner.send(.transferAccepted, answer, from: huaibei, subject: "3406001", id: accepted)
                _ = try await Self.awaitState(s, transfer, "02")
                try await partner.send(.transferAccepted, answer, from: huaibei, subject: "3406001", id: accepted)
                ids[accepted.uuidString.lowercased()] = "duplicate_event"
                // Contact letters whose person does not open with our key: sealed to another key under our key id, or to a key id we do not hold.
                let person = PersonalFields(name: "王芳", idNumber: id)
                let ourKeyId = try #require(keys.encryption?.keyId)
                for (name, keyId) in [("undecryptable_personal_data", ourKeyId), ("unknown_recipient_key", TestStack.unique("nokey"))] {
                    let wrong = PartnerSealing.RecipientKey(keyId: keyId, key: Curve25519.KeyAgreement.PrivateKey().publicKey)
                    let application = TransferApplication(
                        letterNumber: letter, receivingCity: "340600", sendingCity: "320700",
                        personal: try PartnerSealing.seal(person, to: wrong, letterNumber: letter),
                        receivingAccountNumber: "3406002", sendingAccountNumber: account, appliedOn: TestStack.today)
                    let eventID = UUID()
                    ids[eventID.uuidString.lowercased()] = name
                    try await partner.send(.transferApplication, application, from: huaibei, subject: "3406002", id: eventID)
                }

                // (Other tests' services, reading the topic with fresh consumer groups, may dead-letter the same
                // messages again: each attempt is counted once.)
                var found: [String: String] = [:]
                let expected = ids
                _ = try await TestStack.read(topic: Topic.deadLetter.name, count: expected.count) { message in
                    guard let letter = try? CloudEventCoding.decode(DeadLetter.self, from: message.value).data,
                        letter.originalTopic == Topic.partnerInbound.name,
                        let name = expected.first(where: { letter.originalValue.contains($0.key) })?.value, found[name] == nil
                    else { return false }
                    found[name] = letter.reason == .duplicateEvent ? "duplicate_event" : String(letter.detail.prefix { $0 != ":" })
                    return true
                }
                #expect(
                    found == [
                        "bad_signature": "bad_signature", "unknown_key": "unknown_key", "stale_timestamp": "stale_timestamp",
                        "source_mismatch": "source_mismatch", "missing_signature": "missing_signature", "duplicate_event": "duplicate_event",
                        "revoked_key": "revoked_key", "expired_key": "expired_key",
                        "undecryptable_personal_data": "undecryptable_personal_data", "unknown_recipient_key": "unknown_recipient_key",
                    ])
                // Huaibei is told about each refusal on its own topic, signed by us, with the message's id and the code.
                var told: [String: String] = [:]
                _ = try await TestStack.read(topic: Topic.partnerOutbound(city: "340600"), count: expected.count, seconds: 60) { message in
                    guard let refusal = try? CloudEventCoding.decode(MessageRefused.self, from: message.value),
                        refusal.type == EventType.messageRefused.rawValue, let messageId = refusal.data.messageId,
                        let name = expected[messageId], told[name] == nil
                    else { return false }
                    let signed = PartnerSignature.verify(value: message.value, headers: message.headers, now: Date()) {
                        $0 == "lyg-dev-1" ? PartnerSignature.developmentKey(city: "320700").publicKey : nil
                    }
                    guard (try? signed.get()) != nil, refusal.data.toCity == "340600", refusal.data.letterNumber == letter else { return false }
                    told[name] = refusal.data.code
                    return true
                }
                #expect(told == found, "every refused message is answered with its code")
                // Nothing the refused messages said changed it: still 02 with two steps, nothing credited.
                // (Unless another test's unanswered-transfer job, on a clock a month on, has since ended
                // it for want of an answer: the test stack's instances share one database.)
                let after = try await s.regional.get("/v1/transfers/\(transfer)")
                let steps = (after["steps"] as? [[String: Any]])?.compactMap { $0["state"] as? String } ?? []
                let timedOut = ["partner_no_answer", "funds_not_received"].contains(after.string("code") ?? "") && steps.count == 3
                #expect((after.string("state") == "02" && steps.count == 2) || timedOut, "\(after.text)")
                #expect(try await Self.ledgerPostings(s, account).allSatisfy { $0["kind"] as? String != "transfer_in" })
            }
        }
    }

    @Test("a letter the partner never answers is cancelled by the daily job after the parameter's days, and the partner is told")
    func unanswered() async throws {
        // This test's transfer is dated 2026-02-20: other regional-sync instances run the job at
        // their start for 2026-03-16 (24 days: not yet due), whenever they start; the job this test
        // runs for 2026-03-25 (33 days) expires it but no other test's transfer (2026-03-16: 9 days).
        let dial = BusinessClock.Dial(BusinessDate("2026-02-20")!)
        let enrolment = try EnrolmentService.buildApplication(config: TestStack.config(EnrolmentService.descriptor), clock: TestStack.clock)
        let contribution = try ContributionService.buildApplication(config: TestStack.config(ContributionService.descriptor), clock: TestStack.clock)
        let regional = try RegionalSyncService.buildApplication(config: TestStack.config(RegionalSyncService.descriptor), clock: BusinessClock(dial: dial))
        try await enrolment.test(.live) { e in
            try await contribution.test(.live) { c in
                try await regional.test(.live) { r in
                    let s = Clients(
                        enrolment: JSONClient(client: e), ledger: JSONClient(client: c), regional: JSONClient(client: r),
                        loan: JSONClient(client: r))
                    let (account, id) = try await Self.person(s)
                    // With no current encryption key of Shangqiu's (all revoked), nothing can be sealed to it: no letter leaves.
                    _ = try await Self.register("411400", s.regional)
                    let partners = try #require(try await s.regional.get("/v1/partners")["partners"] as? [[String: Any]])
                    let shangqiu = try #require(partners.first { $0["code"] as? String == "411400" }?["keys"] as? [[String: Any]])
                    for key in shangqiu where key["use"] as? String == "encryption" && key["revoked"] as? Bool == false {
                        #expect(try await s.regional.delete("/v1/partners/411400/keys/\(key["keyId"] as? String ?? "")").status == 200)
                    }
                    let unsealed = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "411400"))
                    #expect(unsealed.status == 422 && unsealed.string("code") == "no_recipient_key", "\(unsealed.text)")
                    let fresh = PartnerCitySimulator.City.development("411400")
                    let added = try await s.regional.post(
                        "/v1/partners/411400/keys",
                        #"{"keyId":"\#(TestStack.unique("411400-enc"))","use":"encryption","publicKey":"\#(fresh.encryptionPublicKey)"}"#)
                    #expect(added.status == 201, "\(added.text)")
                    // Shangqiu never answers (no simulator plays it).
                    let started = try await s.regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "411400"))
                    #expect(started.status == 201 && started.string("state") == "01", "\(started.text)")
                    let transfer = try #require(started.string("transferId"))
                    let job = "/v1/jobs/transfer-timeouts"
                    #expect(try await s.regional.post(job, #"{"asOf":"2026-03-01"}"#, as: .anonymous).status == 401)
                    #expect(try await s.regional.post(job, #"{"asOf":"2026-03-01"}"#).string("code") == "as_of_in_future")
                    dial.set(BusinessDate("2026-03-25")!)
                    // 23 days: still waiting.
                    // Scoped to Shangqiu: the other tests' transfers on this shared stack are not this job's.
                    #expect(try await s.regional.post(job, #"{"asOf":"2026-03-15","partnerCity":"320700"}"#).string("code") == "unknown_partner")
                    let early = try await s.regional.post(job, #"{"asOf":"2026-03-15","partnerCity":"411400"}"#)
                    #expect(early.status == 200, "\(early.text)")
                    #expect(try await s.regional.get("/v1/transfers/\(transfer)").string("state") == "01")
                    // More than 30 days (the parameter): cancelled, with the reason.
                    let late = try await s.regional.post(job, #"{"asOf":"2026-03-25","partnerCity":"411400"}"#)
                    #expect(late.status == 200 && (late.int("cancelled") ?? 0) >= 1, "\(late.text)")
                    let ended = try await s.regional.get("/v1/transfers/\(transfer)")
                    #expect(ended.string("state") == "05" && ended.string("code") == "partner_no_answer", "\(ended.text)")
                    let letter = try #require(started.string("letterNumber"))
                    // Shangqiu is told on its own topic, and no other city's topic carries the letter.
                    let told = try await TestStack.read(topic: Topic.partnerOutbound(city: "411400"), count: 2) { $0.keyString == letter }
                    #expect(
                        told.compactMap { try? CloudEventCoding.header(from: $0.value).type }
                            == [EventType.transferApplication.rawValue, EventType.transferCancelled.rawValue])
                    for other in ["320300", "321300", "370800"] {
                        let elsewhere = try await TestStack.read(topic: Topic.partnerOutbound(city: other), count: 1, seconds: 5) { $0.keyString == letter }
                        #expect(elsewhere.isEmpty, "the letter to Shangqiu reached \(other)'s topic")
                    }
                }
            }
        }
    }

    @Test("a restart of the regional-sync service in the middle of a transfer in loses nothing")
    func restartMidTransfer() async throws {
        let config = TestStack.config(RegionalSyncService.descriptor)
        let enrolment = try EnrolmentService.buildApplication(config: TestStack.config(EnrolmentService.descriptor), clock: TestStack.clock)
        let contribution = try ContributionService.buildApplication(config: TestStack.config(ContributionService.descriptor), clock: TestStack.clock)
        try await enrolment.test(.live) { e in
            try await contribution.test(.live) { c in
                let ledger = JSONClient(client: c)
                // 1. Up: the letter leaves for Heze, which holds it for now.
                let (account, letter, transfer, keys) = try await Self.regionalApp(config).test(.live) { r in
                    let regional = JSONClient(client: r)
                    let s = Clients(enrolment: JSONClient(client: e), ledger: ledger, regional: regional, loan: regional)
                    let keys = try await Self.register("371700", regional)
                    let (account, id) = try await Self.person(s)
                    return try await Self.withPartner("371700", keys: keys, answer: { _ in .hold }) { partner in
                        let started = try await regional.post("/v1/transfers/in", Self.transferIn(account, id, from: "371700"))
                        #expect(started.status == 201, "\(started.text)")
                        let letter = try #require(started.string("letterNumber"))
                        #expect(try await TestStack.eventually { partner.types(letter: letter).contains(EventType.transferApplication.rawValue) })
                        return (account, letter, try #require(started.string("transferId")), keys)
                    }
                }
                // 2. Down: Heze accepts and sends the data meanwhile.
                try await Self.withPartner("371700", keys: keys, answer: { .transfer(.typical(for: $0)) }) { partner in
                    #expect(try await TestStack.eventually { partner.messages.contains { $0.letterNumber == letter } })
                    try await Task.sleep(for: .seconds(1))
                    // 3. Back up: the service carries the transfer on from the messages that waited.
                    try await Self.regionalApp(config).test(.live) { r in
                        let regional = JSONClient(client: r)
                        let s = Clients(enrolment: JSONClient(client: e), ledger: ledger, regional: regional, loan: regional)
                        // The data is checked (08); the money's notice comes after it, now that the service answers again.
                        let checked = try await Self.awaitState(s, transfer, "08")
                        let amount = Int(checked.int("amountFen") ?? 0)
                        let body: String = Self.notice(letter, from: "371700", amountFen: amount)
                        let settled: JSONClient.Reply = try await regional.post("/v1/transfers/settlements", body)
                        #expect(settled.status == 200, "\(settled.text)")
                        let done = try await Self.awaitState(s, transfer, "00")
                        #expect((done["steps"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["01", "02", "08", "00"])
                        let postings = try await Self.ledgerPostings(s, account)
                        #expect(postings.filter { $0["kind"] as? String == "transfer_in" }.count == 1, "credited exactly once")
                        #expect(try await TestStack.eventually { partner.types(letter: letter).contains(EventType.transferConfirmed.rawValue) })
                    }
                }
            }
        }
    }
}

/// Whether the simulated bank pays transfer payouts (a test turns it off).
final class PayoutSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var failing = false
    var pays: Bool { lock.withLock { !failing } }
    func fail() { lock.withLock { failing = true } }
}
