import Contribution
import Crypto
import Enrolment
import Foundation
import Hummingbird
import HummingbirdTesting
import Loan
import NIOCore
import NIOPosix
import RegionalSync
import ServiceRuntime
import Subsidy
import Testing
import Withdrawal

/// Identity and access for every route of the six services, through real HTTP against the live
/// services: anonymous callers get 401, callers the route does not accept 403, a citizen asking
/// about another person's account 404; signed channel requests are verified; privileged actions
/// leave a tamper-evident audit record.
@Suite("Identity and access: every route names who may call it")
struct AccessTests {
    typealias Stack = LiveServices

    static var modules: [any HPFServiceModule.Type] {
        [
            EnrolmentService.self, ContributionService.self, SubsidyService.self, WithdrawalService.self, LoanService.self, RegionalSyncService.self,
        ]
    }

    /// Every route of every service, from the services' own route tables.
    static func routes() throws -> [(service: String, spec: RouteSpec)] {
        try modules.flatMap { module -> [(String, RouteSpec)] in
            let runtime = try ServiceRuntime(descriptor: module.descriptor, config: TestStack.config(module.descriptor))
            return try module.routeTable(runtime: runtime).specs.map { (module.descriptor.name, $0) }
        }
    }

    func withStack(_ body: @escaping @Sendable (Stack) async throws -> Void) async throws {
        try await TestStack.withServices(try Self.modules.map { try StackService($0) }) { try await body($0) }
    }

    /// A person enrolled by themselves, with one deposit, known to every service that keeps accounts.
    static func holder(_ stack: Stack) async throws -> (idNumber: String, account: String) {
        let birth = String(format: "19%02d-%02d-%02d", Int.random(in: 80...99), Int.random(in: 1...12), Int.random(in: 1...28))
        let idNumber = TestStack.newResidentID(birth: birth, male: Bool.random())
        let enrolled = try await stack["enrolment"].post("/v1/enrolments", Bodies.enrolment(idNumber: idNumber), as: .citizen(idNumber))
        let account = try #require(enrolled.string("accountNumber"), "\(enrolled.text)")
        let deposit = try await TestStack.eventually {
            try await stack["contribution"].post(
                "/v1/contributions",
                Bodies.contribution(
                    account: account, amountFen: 200_000,
                    txn: TestStack.unique("wx"))
            ).status == 201
        }
        #expect(deposit)
        for service in ["subsidy", "withdrawal", "loan", "regional-sync"] {
            let path =
                service == "subsidy"
                ? "/v1/accounts/\(account)/subsidies"
                : service == "withdrawal"
                    ? "/v1/accounts/\(account)/withdrawals"
                    : service == "loan" ? "/v1/accounts/\(account)/loan-quota" : "/v1/accounts/\(account)/recognised-months"
            #expect(
                try await TestStack.eventually { try await stack[service].get(path, as: .citizen(idNumber)).status == 200 },
                "\(service) knows the account")
        }
        return (idNumber, account)
    }

    /// The route's path with its parameters filled in (the holder's account, unknown ids).
    static func path(_ spec: RouteSpec, account: String) -> String {
        spec.path.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
            switch part {
            case ":accountNumber": account
            case ":partnerCode": "320300"
            case ":channelId": "wechat"
            case ":keyId": "no-such-key"
            default: part.hasPrefix(":") ? UUID().uuidString.lowercased() : String(part)
            }
        }.joined(separator: "/")
    }

    /// One stack of the six services for every check below (each stack is six services' worth of
    /// consumers and relays; a stack per check loaded the shared broker for the other suites).
    @Test("every route of the six services refuses anyone it does not name; tokens, signatures and the audit trail hold")
    func everyRoute() async throws {
        try await withStack { stack in
            try await Self.anonymous(stack)
            try await Self.othersAreRefused(stack)
            try await Self.holderReadsOwn(stack)
            try await Self.badTokens(stack)
            try await Self.signedChannels(stack)
            try await Self.auditTrail(stack)
        }
    }

    /// A valid body naming `account` for the holder routes that take the account in the body.
    static func body(_ spec: RouteSpec, account: String) -> String {
        switch (spec.method, spec.path) {
        case (.post, "/v1/withdrawals"):
            #"{"accountNumber":"\#(account)","reason":"rent","amountFen":1000,"payee":{"kind":"landlord","name":"王芳","bankAccount":"6217000099998888"},"evidence":{"leaseContractNumber":"Z-\#(UUID().uuidString.prefix(8))","monthlyRentFen":100000,"months":1}}"#
        case (.post, "/v1/rent-plans"):
            #"{"accountNumber":"\#(account)","payee":{"kind":"landlord","name":"王芳","bankAccount":"6217000099998888"},"leaseContractNumber":"Z-\#(UUID().uuidString.prefix(8))","monthlyRentFen":100000,"monthlyFen":1000,"months":2}"#
        case (.post, "/v1/loan-applications"):
            LoanTests.application(account)
        case (.post, "/v1/transfers/in"):
            #"{"accountNumber":"\#(account)","name":"张伟","idNumber":"\#(TestStack.residentID(birth: "1993-03-03", serial: 1, male: true))","partnerCity":"320300"}"#
        case (.put, "/v1/accounts/:accountNumber/agreement"):
            #"{"schedule":"monthly","amountFen":20000,"channel":"wechat"}"#
        case (.post, "/v1/accounts/:accountNumber/spouse-consents"):
            #"{"applicantAccountNumber":"3207000000000001"}"#
        case (.post, "/v1/loans/:loanId/repayments"):
            #"{"amountFen":1000,"source":"hpf_balance","reference":"r-1"}"#
        case (.post, "/v1/contributions"):
            Bodies.contribution(account: account, amountFen: 50_000, txn: TestStack.unique("wx"))
        default:
            #"{"asOf":"2026-03-01"}"#
        }
    }

    /// anonymous callers get 401 with WWW-Authenticate on every route but /health and /ready
    static func anonymous(_ stack: Stack) async throws {
        let routes = try Self.routes()
        #expect(routes.count >= 50, "\(routes.count) routes")
        do {
            let (_, account) = try await Self.holder(stack)
            for (service, spec) in routes {
                let reply = try await stack[service].send(
                    spec.method, Self.path(spec, account: account), body: Self.body(spec, account: account),
                    as: .anonymous)
                if spec.access.isOpen {
                    #expect(spec.path == "/health" || spec.path == "/ready" || spec.path == "/metrics", "\(spec) is open")
                    #expect(reply.status != 401)
                } else {
                    #expect(reply.status == 401, "\(service) \(spec): \(reply.status) \(reply.text)")
                    #expect(reply.headers["www-authenticate"] != nil, "\(service) \(spec) names a scheme")
                    #expect(reply.contentType == "application/problem+json")
                }
            }
        }
    }

    /// another citizen gets 404 on a holder route; a citizen on a staff or channel route, and the wrong staff role, get 403
    static func othersAreRefused(_ stack: Stack) async throws {
        let routes = try Self.routes()
        do {
            let (_, account) = try await Self.holder(stack)
            let stranger = TestIdentity.citizen(TestStack.newResidentID(birth: "1991-01-01", male: false))
            for (service, spec) in routes where !spec.access.isOpen {
                let path = Self.path(spec, account: account)
                let body = Self.body(spec, account: account)
                let client = stack[service]
                if spec.access.citizens == .none {
                    let citizen = try await client.send(spec.method, path, body: body, as: stranger)
                    #expect(citizen.status == 403, "citizen on \(service) \(spec): \(citizen.status) \(citizen.text)")
                } else if spec.access.citizens == .ownAccounts, spec.path.contains(":accountNumber") || spec.method != .get {
                    let other = try await client.send(spec.method, path, body: body, as: stranger)
                    #expect(other.status == 404, "another citizen on \(service) \(spec): \(other.status) \(other.text)")
                }
                if let outsider = Set(StaffRole.allCases).subtracting(spec.access.staff).first {
                    let wrongRole = try await client.send(spec.method, path, body: body, as: .staff([outsider]))
                    #expect(wrongRole.status == 403, "\(outsider.rawValue) on \(service) \(spec): \(wrongRole.status) \(wrongRole.text)")
                }
                if spec.access.channels.isEmpty {
                    let channel = try await client.send(spec.method, path, body: body, as: .channel("wechat"))
                    #expect(channel.status == 403, "a channel on \(service) \(spec): \(channel.status)")
                }
            }
        }
    }

    /// the holder reads their own account everywhere; another citizen's withdrawal is 404 to them
    static func holderReadsOwn(_ stack: Stack) async throws {
        do {
            let (idNumber, account) = try await Self.holder(stack)
            let me = TestIdentity.citizen(idNumber)
            #expect(try await stack["enrolment"].get("/v1/accounts/\(account)", as: me).status == 200)
            for path in ["/v1/accounts/\(account)/balance", "/v1/accounts/\(account)/ledger", "/v1/accounts/\(account)/tax-statement?year=2025"] {
                #expect(try await stack["contribution"].get(path, as: me).status == 200, "\(path)")
            }
            let withdrawal = try await stack["withdrawal"].post("/v1/withdrawals", Self.body(RouteSpec.post("/v1/withdrawals"), account: account), as: me)
            #expect(withdrawal.status == 202, "\(withdrawal.text)")
            let id = try #require(withdrawal.string("withdrawalId"))
            #expect(try await stack["withdrawal"].get("/v1/withdrawals/\(id)", as: me).status == 200)
            let stranger = TestIdentity.citizen(TestStack.newResidentID(birth: "1992-02-02", male: true))
            let probe = try await stack["withdrawal"].get("/v1/withdrawals/\(id)", as: stranger)
            #expect(probe.status == 404 && probe.string("code") == "unknown_withdrawal")
            // A citizen enrols only themselves, and an unknown account looks the same as someone else's.
            let someoneElse = TestStack.newResidentID(birth: "1990-05-05", male: true)
            let enrolOther = try await stack["enrolment"].post("/v1/enrolments", Bodies.enrolment(idNumber: someoneElse), as: me)
            #expect(enrolOther.status == 403 && enrolOther.string("code") == "not_own_id_number")
            let unknown = try await stack["contribution"].get("/v1/accounts/3207009999999999/balance", as: me)
            let foreign = try await stack["contribution"].get("/v1/accounts/\(account)/balance", as: stranger)
            #expect(unknown.status == 404 && foreign.status == 404 && unknown.string("code") == foreign.string("code"))
            // Closure by death is staff work.
            let death =
                #"{"accountNumber":"\#(account)","reason":"closure","payee":{"kind":"heir","name":"张三","bankAccount":"6222000011112222"},"evidence":{"closureReason":"death","certificateNumber":"SW-1"}}"#
            let byHolder = try await stack["withdrawal"].post("/v1/withdrawals", death, as: me)
            #expect(byHolder.status == 403 && byHolder.string("code") == "staff_only_closure")
        }
    }

    /// tokens: expired, not yet valid, foreign issuer or audience, unknown key, tampered, alg none all get 401
    static func badTokens(_ stack: Stack) async throws {
        do {
            let (idNumber, account) = try await Self.holder(stack)
            let path = "/v1/accounts/\(account)/balance"
            let client = stack["contribution"]
            let now = Date()
            let valid = DevelopmentIdentity.citizenToken(idNumber: idNumber)
            #expect(try await client.get(path, as: .authorization("Bearer " + valid)).status == 200)
            let parts = valid.split(separator: ".").map(String.init)
            let tamperedPayload = Base64URL.encode(
                Data(#"{"iss":"\#(DevelopmentIdentity.issuer)","aud":"hpf","exp":9999999999,"id_number":"\#(idNumber)"}"#.utf8))
            let none = Base64URL.encode(Data(#"{"alg":"none","kid":"\#(DevelopmentIdentity.keyId)"}"#.utf8)) + "." + parts[1] + "."
            let cases: [(String, String)] = [
                ("token_expired", DevelopmentIdentity.citizenToken(idNumber: idNumber, lifetime: 3600, now: now.addingTimeInterval(-7300))),
                ("token_not_yet_valid", DevelopmentIdentity.sign(["id_number": idNumber], now: now.addingTimeInterval(600))),
                ("wrong_issuer", DevelopmentIdentity.sign(["id_number": idNumber], issuer: "https://evil.example")),
                ("wrong_audience", DevelopmentIdentity.sign(["id_number": idNumber], audience: "another-app")),
                ("unknown_key", DevelopmentIdentity.sign(["id_number": idNumber], key: .init(), keyId: "rogue")),
                ("bad_signature", DevelopmentIdentity.sign(["id_number": idNumber], key: .init())),
                ("bad_signature", parts[0] + "." + tamperedPayload + "." + parts[2]),
                ("unsupported_algorithm", none),
                ("malformed_token", "not-a-jwt"),
                ("unknown_subject_kind", DevelopmentIdentity.sign(["staff_id": "x", "id_number": idNumber])),
                ("token_lifetime_too_long", DevelopmentIdentity.citizenToken(idNumber: idNumber, lifetime: 30 * 86_400)),
            ]
            for (code, token) in cases {
                let reply = try await client.get(path, as: .authorization("Bearer " + token))
                #expect(reply.status == 401 && reply.string("code") == code, "\(code): \(reply.status) \(reply.text)")
            }
            // Within the clock-skew allowance a token just past its expiry still works.
            let justExpired = DevelopmentIdentity.citizenToken(idNumber: idNumber, lifetime: 3600, now: now.addingTimeInterval(-3620))
            #expect(try await client.get(path, as: .authorization("Bearer " + justExpired)).status == 200)
        }
    }

    /// channel notifications: bad signature, stale timestamp, reused nonce, unknown key get 401 and post nothing; keys rotate
    static func signedChannels(_ stack: Stack) async throws {
        do {
            let (idNumber, account) = try await Self.holder(stack)
            let ledger = stack["contribution"]
            let balance = { try await ledger.get("/v1/accounts/\(account)/balance", as: .citizen(idNumber)).int("contributedFen") ?? -1 }
            let before = try await balance()
            let path = "/v1/contributions"
            func deposit() -> String { Bodies.contribution(account: account, amountFen: 50_000, txn: TestStack.unique("wx")) }
            let body = deposit()
            var signed = ChannelSignature.developmentHeaders(channel: "wechat", method: "POST", path: path, body: Array(body.utf8))
            // The body is changed after signing.
            let tampered = try await ledger.send(.post, path, body: deposit(), as: .anonymous, headers: signed)
            #expect(tampered.status == 401 && tampered.string("code") == "bad_signature", "\(tampered.text)")
            let first = try await ledger.send(.post, path, body: body, as: .anonymous, headers: signed)
            #expect(first.status == 201, "\(first.text)")
            let replayed = try await ledger.send(.post, path, body: body, as: .anonymous, headers: signed)
            #expect(replayed.status == 401 && replayed.string("code") == "nonce_reused")
            // The same signed request sent eight times at once (nonces are recorded in groups):
            // exactly one is accepted.
            let raced = deposit()
            let racedHeaders = ChannelSignature.developmentHeaders(channel: "wechat", method: "POST", path: path, body: Array(raced.utf8))
            let copies = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let reply = try await ledger.send(.post, path, body: raced, as: .anonymous, headers: racedHeaders)
                        return (reply.status, reply.string("code"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(copies.filter { $0.0 == 201 }.count == 1, "\(copies)")
            #expect(copies.filter { $0.0 == 401 && $0.1 == "nonce_reused" }.count == 7, "\(copies)")
            let staleBody = deposit()
            let stale = ChannelSignature.developmentHeaders(
                channel: "wechat", method: "POST", path: path, body: Array(staleBody.utf8),
                now: Date().addingTimeInterval(-301))
            let staleReply = try await ledger.send(.post, path, body: staleBody, as: .anonymous, headers: stale)
            #expect(staleReply.status == 401 && staleReply.string("code") == "stale_timestamp")
            signed[ChannelSignature.keyIdHeader] = "wechat-unregistered"
            signed[ChannelSignature.nonceHeader] = UUID().uuidString
            let unknown = try await ledger.send(.post, path, body: body, as: .anonymous, headers: signed)
            #expect(unknown.status == 401 && unknown.string("code") == "unknown_key")
            // WeChat Pay cannot notify an Alipay payment; a citizen cannot post a payment at all.
            let foreign = Bodies.contribution(account: account, amountFen: 50_000, txn: TestStack.unique("ali"), channel: "alipay")
            #expect(try await ledger.post(path, foreign, as: .channel("wechat")).string("code") == "channel_mismatch")
            #expect(try await ledger.post(path, deposit(), as: .citizen(idNumber)).status == 403)
            #expect(try await balance() == before + 100_000, "only the good notification and one of the raced copies were posted")

            // A timestamp built to overflow the window arithmetic is only stale, and the service stays up.
            var overflow = ChannelSignature.developmentHeaders(channel: "wechat", method: "POST", path: path, body: Array(body.utf8))
            for stamp in ["-9223372036854775808", "9223372036854775807", "+1", "99999999999"] {
                overflow[ChannelSignature.timestampHeader] = stamp
                overflow[ChannelSignature.nonceHeader] = UUID().uuidString
                let reply = try await ledger.send(.post, path, body: body, as: .anonymous, headers: overflow)
                #expect(reply.status == 401 && reply.string("code") == "stale_timestamp", "\(stamp): \(reply.text)")
            }
            #expect(try await ledger.get("/health", as: .anonymous).status == 200)

            // A registered key signs nothing until a second officer approves it; then until it is revoked.
            let key = Curve25519Key()
            let keyId = TestStack.unique("wechat-k")
            let registrar = TestIdentity.staff([.fundOfficer], id: "officer-1")
            let registered = try await ledger.post(
                "/v1/channels/wechat/keys", #"{"keyId":"\#(keyId)","publicKey":"\#(key.publicBase64)"}"#,
                as: registrar)
            #expect(registered.status == 201 && registered.string("status") == "awaiting_approval", "\(registered.text)")
            let early = deposit()
            let unapproved = try await ledger.send(
                .post, path, body: early, as: .anonymous,
                headers:
                    ChannelSignature.headers(channel: "wechat", keyId: keyId, key: key.privateKey, method: "POST", path: path, body: Array(early.utf8)))
            #expect(unapproved.status == 401 && unapproved.string("code") == "unknown_key", "an unapproved key signs nothing")
            let approval = "/v1/channels/wechat/keys/\(keyId)/approval"
            let selfApproval = try await ledger.post(approval, "{}", as: registrar)
            #expect(selfApproval.status == 403 && selfApproval.string("code") == "same_officer")
            #expect(try await ledger.post(approval, "{}", as: .staff([.fundOfficer], id: "officer-2")).status == 200)
            #expect(
                try await ledger.post(
                    "/v1/channels/wechat/keys", #"{"keyId":"x","publicKey":"\#(key.publicBase64)"}"#,
                    as: .staff([.auditor])
                ).status == 403)
            func signedWith(_ body: String) -> [String: String] {
                ChannelSignature.headers(channel: "wechat", keyId: keyId, key: key.privateKey, method: "POST", path: path, body: Array(body.utf8))
            }
            let rotated = deposit()
            #expect(try await ledger.send(.post, path, body: rotated, as: .anonymous, headers: signedWith(rotated)).status == 201)
            #expect(try await ledger.delete("/v1/channels/wechat/keys/\(keyId)", as: .staff([.fundOfficer])).status == 200)
            let afterRevocation = deposit()
            let revoked = try await ledger.send(.post, path, body: afterRevocation, as: .anonymous, headers: signedWith(afterRevocation))
            // At once, though the service had just read the key for `rotated` (it keeps keys it
            // read for a second): the instance that revokes a key forgets it.
            #expect(revoked.status == 401 && revoked.string("code") == "unknown_key")

            // Revoked by another instance of the service (written straight to the registry here):
            // this one stops taking the key once its copy is a second old.
            let other = Curve25519Key()
            let otherId = TestStack.unique("wechat-k")
            let otherKey = #"{"keyId":"\#(otherId)","publicKey":"\#(other.publicBase64)"}"#
            #expect(try await ledger.post("/v1/channels/wechat/keys", otherKey, as: registrar).status == 201)
            #expect(try await ledger.post("/v1/channels/wechat/keys/\(otherId)/approval", "{}", as: .staff([.fundOfficer], id: "officer-2")).status == 200)
            func signedWithOther(_ body: String) -> [String: String] {
                ChannelSignature.headers(channel: "wechat", keyId: otherId, key: other.privateKey, method: "POST", path: path, body: Array(body.utf8))
            }
            let beforeElsewhere = deposit()
            #expect(try await ledger.send(.post, path, body: beforeElsewhere, as: .anonymous, headers: signedWithOther(beforeElsewhere)).status == 201)
            try await TestStack.withDatabase(of: ContributionService.descriptor) { database in
                try await database.query("UPDATE channel_keys SET revoked_at = now() WHERE channel_id = 'wechat' AND key_id = \(otherId)")
            }
            let refusedElsewhere = try await TestStack.eventually(seconds: 30) {
                let body = deposit()
                let reply = try await ledger.send(.post, path, body: body, as: .anonymous, headers: signedWithOther(body))
                return reply.status == 401 && reply.string("code") == "unknown_key"
            }
            #expect(refusedElsewhere, "a key another instance revoked is refused here once the copy read before it has expired")
        }
    }

    /// privileged actions leave a hash-chained audit record an auditor can read; an edit breaks the chain
    static func auditTrail(_ stack: Stack) async throws {
        do {
            let (idNumber, account) = try await Self.holder(stack)
            let withdrawal = stack["withdrawal"]
            let requestId = TestStack.unique("req")
            let body = Self.body(RouteSpec.post("/v1/withdrawals"), account: account)
            let made = try await withdrawal.send(.post, "/v1/withdrawals", body: body, as: .citizen(idNumber), headers: ["x-request-id": requestId])
            #expect(made.status == 202)
            let run = try await withdrawal.send(.post, "/v1/jobs/rent-payments", body: #"{"asOf":"2026-03-16"}"#, as: .staff([.fundOfficer], id: "officer-7"))
            #expect(run.status == 200, "\(run.text)")
            #expect(try await withdrawal.get("/v1/audit", as: .staff([.fundOfficer])).status == 403, "the trail is the auditors'")
            // A refused try at someone else's account is recorded with the account that was tried;
            // an officer's look at an account is recorded too.
            let strangerRequest = TestStack.unique("probe")
            let stranger = TestIdentity.citizen(TestStack.newResidentID(birth: "1990-10-10", male: true))
            let probe = try await withdrawal.send(.post, "/v1/withdrawals", body: body, as: stranger, headers: ["x-request-id": strangerRequest])
            #expect(probe.status == 404)
            let lookRequest = TestStack.unique("look")
            let look = try await withdrawal.send(
                .get, "/v1/accounts/\(account)/withdrawals", as: .staff([.enrolmentOfficer], id: "officer-9"),
                headers: ["x-request-id": lookRequest])
            #expect(look.status == 200)
            let auditor = TestIdentity.staff([.auditor], id: "auditor-1")
            var records: [[String: Any]] = []
            var after: Int64 = 0
            while true {
                let page = try await withdrawal.get("/v1/audit?afterSeq=\(after)&limit=1000", as: auditor)
                let batch = page["records"] as? [[String: Any]] ?? []
                records += batch
                guard let last = batch.last?["seq"] as? NSNumber, batch.count == 1000 else { break }
                after = last.int64Value
            }
            let entries = records.compactMap { $0["entry"] as? [String: Any] }
            let mine = try #require(entries.first { $0["requestId"] as? String == requestId }, "the withdrawal's record")
            #expect(mine["action"] as? String == "POST /v1/withdrawals" && mine["account"] as? String == account && mine["status"] as? Int == 202)
            #expect((mine["subject"] as? String)?.hasPrefix("citizen:") == true && mine["role"] as? String == "citizen")
            #expect(!records.description.contains(idNumber), "no resident ID number in the trail")
            #expect(entries.contains { $0["subject"] as? String == "staff:officer-7" && $0["action"] as? String == "POST /v1/jobs/rent-payments" })
            let refused = try #require(entries.first { $0["requestId"] as? String == strangerRequest }, "the refused try is recorded")
            #expect(refused["account"] as? String == account && refused["status"] as? Int == 404)
            let looked = try #require(entries.first { $0["requestId"] as? String == lookRequest }, "the officer's read is recorded")
            #expect(looked["subject"] as? String == "staff:officer-9" && looked["account"] as? String == account)
            #expect(try await withdrawal.get("/v1/audit/verification", as: auditor).json["verified"] as? Bool == true)

            // The service's own role cannot rewrite a record (the trigger); an owner who goes around it breaks the chain.
            let seq = try #require((records.first { ($0["entry"] as? [String: Any])?["requestId"] as? String == requestId }?["seq"] as? NSNumber)?.int64Value)
            try await TestStack.withDatabase(of: WithdrawalService.descriptor) { database in
                await #expect(throws: (any Error).self) {
                    try await database.query("UPDATE audit_records SET record = replace(record, '202', '200') WHERE seq = \(seq)")
                }
            }
            try await TestStack.withDatabase(of: WithdrawalService.descriptor, asOwner: true) { database in
                try await database.query("ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_change")
                try await database.query("UPDATE audit_records SET record = replace(record, '\"status\":202', '\"status\":200') WHERE seq = \(seq)")
            }
            let broken = try await withdrawal.get("/v1/audit/verification", as: auditor)
            #expect(broken.json["verified"] as? Bool == false && broken.int("brokenAtSeq") == seq, "\(broken.text)")
            try await TestStack.withDatabase(of: WithdrawalService.descriptor, asOwner: true) { database in
                try await database.query("UPDATE audit_records SET record = replace(record, '\"status\":200', '\"status\":202') WHERE seq = \(seq)")
                try await database.query("ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_change")
            }
            #expect(try await withdrawal.get("/v1/audit/verification", as: auditor).json["verified"] as? Bool == true)
        }
    }

    @Test("a citizen over the rate limit gets 429 with Retry-After; a half-sent request is closed by the idle timeout")
    func limits() async throws {
        var config = TestStack.config(ContributionService.descriptor)
        config.citizenRateLimit = 5
        config.httpIdleTimeoutSeconds = 2
        let app = try ContributionService.buildApplication(config: config, clock: TestStack.clock)
        try await app.test(.live) { client in
            let http = JSONClient(client: client)
            let citizen = TestIdentity.citizen(TestStack.newResidentID(birth: "1995-05-05", male: true))
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append(try await http.get("/v1/accounts/3207009999999999/balance", as: citizen).status) }
            #expect(statuses.prefix(5).allSatisfy { $0 == 404 } && statuses.last == 429, "\(statuses)")
            let limited = try await http.get("/v1/accounts/3207009999999999/balance", as: citizen)
            #expect(limited.headers["retry-after"] != nil)
            #expect(try await http.get("/v1/accounts/3207009999999999/balance", as: .officer).status == 404, "staff are not limited")

            // A client that sends half a request and stops is disconnected, not served for ever.
            let port = try #require(client.port)
            let closed = try await HalfSentRequest.closesWithin(seconds: 30, port: port)
            #expect(closed, "the server closed the half-sent request")
        }
    }

    @Test("outside development the services refuse to start without the provider's keys, or with a development key")
    func configuration() throws {
        var config = TestStack.config(ContributionService.descriptor)
        config.environment = "production"
        #expect(throws: ConfigurationError.self) { try ServiceRuntime(descriptor: ContributionService.descriptor, config: config) }
        config.idpIssuer = "https://idp.example"
        config.idpAudience = "hpf"
        let dev = Base64URL.encode(DevelopmentIdentity.providerKey.publicKey.rawRepresentation)
        config.idpJWKS = #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"\#(dev)"}]}"#
        #expect(throws: ConfigurationError.self) { try ServiceRuntime(descriptor: ContributionService.descriptor, config: config) }
        let real = Base64URL.encode(Curve25519Key().privateKey.publicKey.rawRepresentation)
        config.idpJWKS = #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"\#(real)"}]}"#
        #expect(throws: Never.self) { try ServiceRuntime(descriptor: ContributionService.descriptor, config: config) }
        // Secrets have no public default outside development.
        // (The identity provider and the database password are right, to look at one secret at a time.)
        var production = ProcessInfo.processInfo.environment
        production["HPF_ENV"] = "production"
        production["HPF_IDP_ISSUER"] = "https://idp.example"
        production["HPF_IDP_AUDIENCE"] = "hpf"
        production["HPF_IDP_JWKS"] = config.idpJWKS
        production["HPF_PG_PASSWORD"] = "not-the-role-name"
        production["HPF_PG_OWNER_PASSWORD"] = "not-the-owner-name"
        production["HPF_EVENT_SIGNING_KEY"] = Curve25519Key().privateKey.rawRepresentation.base64EncodedString()
        production["HPF_EVENT_KEYS"] =
            #"[{"keyId":"c-1","service":"contribution","publicKey":"\#(Curve25519Key().privateKey.publicKey.rawRepresentation.base64EncodedString())"}]"#
        production["HPF_PERSON_KEY_SECRET"] = nil
        production["HPF_PARTNER_SIGNING_KEY"] = nil
        production["HPF_PARTNER_DECRYPTION_KEY"] = nil
        let missing = ServiceConfig(descriptor: RegionalSyncService.descriptor, environment: production)
        #expect(Set(missing.problems.map(\.variable)) == ["HPF_PERSON_KEY_SECRET", "HPF_PARTNER_SIGNING_KEY", "HPF_PARTNER_DECRYPTION_KEY"])
        production["HPF_PERSON_KEY_SECRET"] = ServiceConfig.developmentPersonKeySecret
        production["HPF_PARTNER_SIGNING_KEY"] = PartnerSignature.developmentKey(city: "320700").rawRepresentation.base64EncodedString()
        production["HPF_PARTNER_DECRYPTION_KEY"] = PartnerSealing.developmentKey(city: "320700").rawRepresentation.base64EncodedString()
        let withPublicValues = ServiceConfig(descriptor: RegionalSyncService.descriptor, environment: production)
        #expect(
            Set(withPublicValues.problems.map(\.variable)) == ["HPF_PERSON_KEY_SECRET", "HPF_PARTNER_SIGNING_KEY", "HPF_PARTNER_DECRYPTION_KEY"],
            "development values refused")
        production["HPF_PERSON_KEY_SECRET"] = String(repeating: "k", count: 40)
        production["HPF_PARTNER_SIGNING_KEY"] = Curve25519Key().privateKey.rawRepresentation.base64EncodedString()
        production["HPF_PARTNER_DECRYPTION_KEY"] = Curve25519.KeyAgreement.PrivateKey().rawRepresentation.base64EncodedString()
        #expect(ServiceConfig(descriptor: RegionalSyncService.descriptor, environment: production).problems.isEmpty)
        production["HPF_PARTNER_SIGNING_KEY"] = "not-a-key"
        production["HPF_PARTNER_DECRYPTION_KEY"] = "bm90LWEta2V5"
        #expect(
            ServiceConfig(descriptor: ContributionService.descriptor, environment: production).problems.map(\.variable)
                == ["HPF_PARTNER_SIGNING_KEY", "HPF_PARTNER_DECRYPTION_KEY"], "a malformed key is refused even where it is not needed")
        production["HPF_PARTNER_SIGNING_KEY"] = nil
        production["HPF_PARTNER_DECRYPTION_KEY"] = nil

        var env = production
        env["HPF_ENV"] = "staging"
        env["HPF_PERSON_KEY_SECRET"] = String(repeating: "k", count: 40)
        env["HPF_RATE_LIMIT_CITIZEN"] = "lots"
        let parsed = ServiceConfig(descriptor: ContributionService.descriptor, environment: env)
        #expect(Set(parsed.problems.map(\.variable)) == ["HPF_ENV", "HPF_RATE_LIMIT_CITIZEN"])
        // Without the provider or the database password, outside development: each one named.
        for variable in [
            "HPF_IDP_ISSUER", "HPF_IDP_AUDIENCE", "HPF_IDP_JWKS", "HPF_PG_PASSWORD", "HPF_PG_OWNER_PASSWORD", "HPF_EVENT_SIGNING_KEY", "HPF_EVENT_KEYS",
        ] {
            var without = production
            without[variable] = nil
            #expect(ServiceConfig(descriptor: ContributionService.descriptor, environment: without).problems.map(\.variable) == [variable])
        }
        // Event keys that are the public development ones are refused outside development.
        var devEvents = production
        devEvents["HPF_EVENT_SIGNING_KEY"] = EventSignature.developmentKey(service: "contribution").rawRepresentation.base64EncodedString()
        devEvents["HPF_EVENT_KEYS"] =
            #"[{"keyId":"subsidy-dev-1","service":"subsidy","publicKey":"\#(EventSignature.developmentKey(service: "subsidy").publicKey.rawRepresentation.base64EncodedString())"}]"#
        #expect(
            Set(ServiceConfig(descriptor: ContributionService.descriptor, environment: devEvents).problems.map(\.variable)) == [
                "HPF_EVENT_SIGNING_KEY", "HPF_EVENT_KEYS",
            ])
    }
}

extension RouteSpec {
    static func post(_ path: String) -> RouteSpec { RouteSpec(method: .post, path: path, access: .open) }
}

/// A fresh Ed25519 key pair, as a channel would generate one.
struct Curve25519Key {
    let privateKey = Curve25519.Signing.PrivateKey()
    var publicBase64: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }
}

/// A client that sends the head and part of a body, then nothing more (a slow-loris client).
enum HalfSentRequest {
    static func closesWithin(seconds: Double, port: Int) async throws -> Bool {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
        let partial = "POST /v1/contributions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"acc"
        try await channel.writeAndFlush(ByteBuffer(string: partial)).get()
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await channel.closeFuture.get()
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return false
            }
            let first = try await group.next() ?? false
            // Whichever came first, the connection ends here, so the other task ends too.
            if !first { try? await channel.close() }
            group.cancelAll()
            return first
        }
    }
}
