import Contracts
import Foundation
import Hummingbird
import ServiceRuntime
import Testing

/// Every number and date a caller can send, on every write route and every query of the six
/// services, taken to the extremes (Int64.max and min, negative, beyond Int64, years 1 to 9999):
/// each answer is a 400 naming the field, and every service is still ready afterwards. The
/// reproduced crashes of the hardening issue are among the cases.
@Suite("Bounded inputs: no number or date from outside stops a service")
struct BoundedInputTests {
    /// A valid body for every write route, its numbers and dates the ones to take to extremes.
    /// The test fails for a write route missing here, so a new route cannot go untested.
    static func sample(_ spec: RouteSpec, account: String) -> String? {
        switch (spec.method, spec.path) {
        case (.post, "/v1/contributions"):
            Bodies.contribution(account: account, amountFen: 50_000, txn: TestStack.unique("wx"), paidAt: Bodies.inWindow)
        case (.post, "/v1/imports/contributions"):
            #"[{"accountNumber":"\#(account)","amountFen":120000,"paidAt":"2025-07-01T10:00:00+08:00","legacyId":"\#(TestStack.unique("l"))"}]"#
        case (.post, "/v1/fund-pool/entries"):
            #"{"kind":"credit_line","amountFen":1000,"reference":"bounded-input test"}"#
        case (.post, "/v1/social-insurance/payments"):
            #"{"idNumber":"\#(TestStack.newResidentID(birth: "2002-02-02", male: true))","month":"2026-03","paidFen":80000,"leftSchoolOn":"2025-06-30","unemployedBeforeFlexibleWork":true}"#
        case (.post, "/v1/enrolments"):
            Bodies.enrolment(idNumber: TestStack.newResidentID(birth: "1990-09-09", male: true))
        case (.post, "/v1/credit-records"):
            #"{"records":[{"idNumber":"\#(TestStack.newResidentID(birth: "1985-05-05", male: false))","source":"pboc","reference":"\#(TestStack.unique("c"))","reason":"test","activeFrom":"2026-01-01","activeUntil":"2027-01-01"}]}"#
        case (.post, "/v1/transfers/settlements"):
            #"{"letterNumber":"32070020260316000001","sendingCity":"320300","amountFen":1000,"bankReference":"bounded-1"}"#
        case (.post, "/v1/fund-pool/rebuild"):
            "{}"
        case (.post, "/v1/payouts/:payoutId/confirmation"), (.post, "/v1/transfer-payouts/:payoutId/confirmation"):
            #"{"outcome":"paid","channelRef":"ref-1"}"#
        case (.put, "/v1/partners/:partnerCode"):
            #"{"transfer":true,"recognition":true}"#
        case (.post, "/v1/partners/:partnerCode/keys"), (.post, "/v1/channels/:channelId/keys"):
            #"{"keyId":"k-1","publicKey":"AAAA"}"#
        case (.post, "/v1/transfers/:transferId/cancel"), (.post, "/v1/transfers/:transferId/failure"):
            #"{"code":"withdrawn_by_applicant"}"#
        case (.post, "/v1/channels/:channelId/keys/:keyId/approval"), (.post, "/v1/dead-letters/:deadLetterId/redrive"),
            (.post, "/v1/read-models/:readModel/rebuilds"):
            "{}"
        case (.post, let path) where path.hasPrefix("/v1/jobs/"):
            #"{"asOf":"2026-03-01"}"#
        case (.post, _), (.put, _):
            AccessTests.body(spec, account: account)
        default:
            nil
        }
    }

    /// The extremes for one JSON number: none is inside any field's range (a signed pool
    /// adjustment aside, which the sample avoids by using a credit line).
    static let numbers: [String] = ["9223372036854775807", "-9223372036854775808", "9223372036854775808", "-1", "1e30"]
    /// Years no date may have.
    static let years = ["0001", "1799", "2200", "9999"]

    /// Every variant of `body` with one number or one date taken to an extreme, with the path of
    /// the field changed.
    static func variants(of body: String) throws -> [(field: String, body: String)] {
        let document = try JSONDecoder().decode(Node.self, from: Data(body.utf8))
        var out: [(String, String)] = []
        func visit(_ node: Node, path: String, replace: (Node) -> Node) {
            switch node {
            case .object(let members):
                for (key, member) in members {
                    visit(member, path: path.isEmpty ? key : "\(path).\(key)") { replacement in
                        var copy = members
                        copy[key] = replacement
                        return replace(.object(copy))
                    }
                }
            case .array(let items):
                for (index, item) in items.enumerated() {
                    visit(item, path: "\(path)[\(index)]") { replacement in
                        var copy = items
                        copy[index] = replacement
                        return replace(.array(copy))
                    }
                }
            case .number:
                for extreme in numbers { out.append((path, replace(.raw(extreme)).json)) }
            case .text(let text) where RangeCheck.leadingYear(text) != nil:
                for year in years { out.append((path, replace(.text(year + text.dropFirst(4))).json)) }
            default:
                break
            }
        }
        visit(document, path: "") { $0 }
        return out
    }

    /// A JSON document that keeps numbers as written, so that one can be replaced by text no
    /// Swift integer holds.
    indirect enum Node: Decodable {
        case null, bool(Bool), number(String), raw(String), text(String), array([Node]), object([String: Node])

        init(from decoder: any Decoder) throws {
            if var list = try? decoder.unkeyedContainer() {
                var items: [Node] = []
                while !list.isAtEnd { items.append(try list.decode(Node.self)) }
                self = .array(items)
            } else if let keyed = try? decoder.container(keyedBy: Key.self) {
                var members: [String: Node] = [:]
                for key in keyed.allKeys { members[key.stringValue] = try keyed.decode(Node.self, forKey: key) }
                self = .object(members)
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() {
                    self = .null
                } else if let value = try? single.decode(Bool.self) {
                    self = .bool(value)
                } else if let value = try? single.decode(Int64.self) {
                    self = .number("\(value)")
                } else if let value = try? single.decode(Double.self) {
                    self = .number("\(value)")
                } else {
                    self = .text(try single.decode(String.self))
                }
            }
        }

        struct Key: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        var json: String {
            switch self {
            case .null: "null"
            case .bool(let value): value ? "true" : "false"
            case .number(let text), .raw(let text): text
            case .text(let text): String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
            case .array(let items): "[" + items.map(\.json).joined(separator: ",") + "]"
            case .object(let members): "{" + members.map { "\(Node.text($0.key).json):\($0.value.json)" }.joined(separator: ",") + "}"
            }
        }
    }

    @Test("every number and date of every write route, at its extremes, is a 400 naming the field; every query parameter too; services stay ready")
    func extremes() async throws {
        try await AccessTests().withStack { stack in
            let (idNumber, account) = try await AccessTests.holder(stack)
            var checked = 0
            // A channel statement is CSV, not JSON: its numbers and dates are taken to their
            // extremes by ChannelStatementTests.
            for (service, spec) in try AccessTests.routes() where (spec.method == .post || spec.method == .put) && spec.path != "/v1/channel-statements" {
                let body = try #require(Self.sample(spec, account: account), "a sample body for \(service) \(spec)")
                let path = AccessTests.path(spec, account: account)
                for (field, variant) in try Self.variants(of: body) {
                    let identity: TestIdentity = spec.path.hasSuffix("/spouse-consents") ? .citizen(idNumber) : .auto
                    let reply = try await stack[service].send(spec.method, path, body: variant, as: identity)
                    // out_of_range, or (a pool adjustment may be negative) the rule of that field.
                    #expect(
                        reply.status == 400 && ["out_of_range", "malformed_request"].contains(reply.string("code")),
                        "\(service) \(spec.method) \(path) \(field): \(reply.status) \(reply.text)")
                    let named = (reply["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
                    #expect(named.contains(field), "\(service) \(spec.method) \(path): names \(field) in \(named)")
                    checked += 1
                }
            }
            #expect(checked >= 60, "\(checked) variants")

            // Query parameters: numbers out of range or not numbers, unknown choices.
            let queries: [(String, String, [String])] = [
                ("loan", "/v1/accounts/\(account)/loan-quota", ["priceFen", "requestedFen", "monthlyIncomeFen", "monthlyDebtFen", "termMonths"]),
                ("contribution", "/v1/accounts/\(account)/ledger", ["limit", "afterSeq"]),
                ("contribution", "/v1/accounts/\(account)/tax-statement", ["year"]),
                ("withdrawal", "/v1/accounts/\(account)/withdrawals", ["limit"]),
                ("subsidy", "/v1/audit", ["limit", "afterSeq"]),
            ]
            for (service, path, names) in queries {
                for name in names {
                    for value in ["9223372036854775807", "-1", "99999999999999999999", "abc", "1e3", ""] {
                        let reply = try await stack[service].get("\(path)?\(name)=\(value)", as: path == "/v1/audit" ? .staff([.auditor]) : .auto)
                        #expect(reply.status == 400, "\(service) \(path)?\(name)=\(value): \(reply.status) \(reply.text)")
                    }
                }
            }
            for (name, value) in [("repaymentMethod", "bogus"), ("firstHome", "maybe"), ("green", "1")] {
                let reply = try await stack["loan"].get("/v1/accounts/\(account)/loan-quota?\(name)=\(value)")
                #expect(reply.status == 400 && reply.string("detail")?.contains(name) == true, "\(name)=\(value): \(reply.status) \(reply.text)")
            }
            // The reproduced crash: every figure of a plan at once, each one inside its range,
            // whose product overflows: a refusal, not a stopped service.
            let large = InputRange.amountFen.upperBound
            let plan = try await stack["loan"].get(
                "/v1/accounts/\(account)/loan-quota?termMonths=1200&priceFen=\(large)&requestedFen=\(large)&monthlyIncomeFen=\(large)")
            #expect(plan.status == 200 || plan.status == 422, "\(plan.status) \(plan.text)")

            for service in ["enrolment", "contribution", "subsidy", "withdrawal", "loan", "regional-sync"] {
                #expect(try await stack[service].get("/ready").status == 200, "\(service) is still ready")
            }
        }
    }
}
