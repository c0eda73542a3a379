import Contracts
import Foundation
import Kafka
import Policy
import ServiceRuntime
import Testing
import Withdrawal

/// Reconciliation with the payment channels (对账, #13): the ledger against a channel's signed
/// deposit statement, the withdrawal service against its payout statement, on the real
/// services, Postgres and broker. The channel here is `bank_card` (the concurrent imports use
/// `alipay`), which no other test reconciles, so the day's "held but not listed" check sees only
/// this test's deposits and payouts; even so each test counts only its own references.
@Suite("Reconciliation: channel statements against the ledger and the payouts")
struct ReconciliationTests {
    static let channel = "bank_card"
    static let paidAt = Bodies.inWindow

    /// A deposit statement; `paidAt` gives some lines (by transaction id) another time.
    static func deposits(
        _ lines: [(txn: String, account: String, amountFen: Int)], date: BusinessDate = TestStack.today,
        channel: String = channel, paidAt times: [String: String] = [:]
    ) -> String {
        ChannelStatement.render(
            channel: channel, kind: .deposits, date: date, columns: ["channel_txn_id", "account_number", "amount_fen", "paid_at"],
            rows: lines.map { [$0.txn, $0.account, String($0.amountFen), times[$0.txn] ?? paidAt] })
    }

    /// A payout statement; `paidAt` and `refs` give some lines (by payout id) another time or reference.
    static func payouts(_ lines: [(payout: String, amountFen: Int)], paidAt times: [String: String] = [:], refs: [String: String] = [:]) -> String {
        ChannelStatement.render(
            channel: channel, kind: .payouts, date: TestStack.today, columns: ["payout_id", "channel_ref", "amount_fen", "paid_at"],
            rows: lines.map { [$0.payout, refs[$0.payout] ?? "bc-\($0.payout.prefix(8))", String($0.amountFen), times[$0.payout] ?? paidAt] })
    }

    /// Imports a statement as a fund officer, signed with the channel's development key unless
    /// `signature` says otherwise.
    static func submit(
        _ client: JSONClient, _ text: String, signature: [String: String]? = nil, as identity: TestIdentity = .staff([.fundOfficer]),
        contentType: String = "text/csv", channel: String = channel
    ) async throws -> JSONClient.Reply {
        var headers = signature ?? StatementSignature.developmentHeaders(channel: channel, bytes: Array(text.utf8))
        headers["content-type"] = contentType
        return try await client.send(.post, "/v1/channel-statements", body: text, as: identity, headers: headers)
    }

    static func item(_ report: JSONClient.Reply, _ reference: String) -> [String: Any]? {
        (report["discrepancies"] as? [[String: Any]])?.first { $0["reference"] as? String == reference }
    }

    @Test("a deposit statement posts a lost notification once, flags what differs or is missing, and a repeat changes nothing")
    func depositStatement() async throws {
        try await WithdrawalTests().withServices { s in
            let a = try await WithdrawalTests.openAccount(s)
            let b = try await WithdrawalTests.openAccount(s)
            let c = try await WithdrawalTests.openAccount(s)
            let (a1, b1, c1, lost, stray) = (
                TestStack.unique("bc-a"), TestStack.unique("bc-b"), TestStack.unique("bc-c"),
                TestStack.unique("bc-lost"), TestStack.unique("bc-stray")
            )
            let early = TestStack.unique("bc-early")
            for (account, txn, amount) in [(a, a1, 50_000), (b, b1, 30_000), (c, c1, 20_000)] {
                let paid = try await s.ledger.post(
                    "/v1/contributions", Bodies.contribution(account: account, amountFen: amount, txn: txn, channel: Self.channel))
                #expect(paid.status == 201, "\(paid.text)")
            }
            // The channel: a1 as we have it, c1 with another amount, a deposit to b it never
            // notified, one to an account that does not exist, one to a dated before its opening
            // (a wrong time on the channel's side); b1 it does not list.
            let first = Self.deposits(
                [(a1, a, 50_000), (c1, c, 25_000), (lost, b, 40_000), (stray, "3207099999999999", 20_000), (early, a, 30_000)],
                paidAt: [early: "2026-03-15T10:00:00+08:00"])
            let report = try await Self.submit(s.ledger, first)
            #expect(report.status == 201, "\(report.text)")
            let statementId = try #require(report.string("statementId"))
            #expect(report.headers["location"] == "/v1/channel-statements/\(statementId)")
            #expect(report.int("lines") == 5 && report.int("totalFen") == 165_000 && report.int("matched") == 1)
            // Counted on this test's references: the concurrent-import test's bank_card deposits of
            // the same day are, rightly, flagged here as held but not listed.
            let ours: Set<String> = [a1, b1, c1, lost, stray, early]
            let flaggedHere = ((report["discrepancies"] as? [[String: Any]]) ?? []).filter {
                ours.contains($0["reference"] as? String ?? "") && $0["resolution"] as? String == "flagged"
            }
            #expect(report.int("posted") == 1 && flaggedHere.count == 4, "\(report.text)")
            #expect(Self.item(report, early)?["code"] as? String == "paid_at_before_opening")
            let posted = try #require(Self.item(report, lost), "\(report.text)")
            #expect(posted["kind"] as? String == "deposit_not_notified" && posted["resolution"] as? String == "posted" && posted["line"] as? Int == 8)
            let mismatch = try #require(Self.item(report, c1))
            #expect(mismatch["kind"] as? String == "amount_mismatch" && mismatch["code"] as? String == "amount_differs")
            #expect(mismatch["ourAmountFen"] as? Int == 20_000 && mismatch["channelAmountFen"] as? Int == 25_000)
            let unknown = try #require(Self.item(report, stray))
            #expect(unknown["resolution"] as? String == "flagged" && unknown["code"] as? String == "unknown_account")
            let unlisted = try #require(Self.item(report, b1))
            #expect(
                unlisted["kind"] as? String == "deposit_not_in_statement" && unlisted["ourAmountFen"] as? Int == 30_000
                    && unlisted["accountNumber"] as? String == b)
            #expect(Self.item(report, a1) == nil)
            #expect(try await WithdrawalTests.balance(s, b) == 70_000)

            // The same file again: the first report, nothing posted twice.
            let again = try await Self.submit(s.ledger, first)
            #expect(again.status == 200 && again.string("statementId") == statementId, "\(again.text)")
            // The lost notification arrives after all: the same deposit, answered as a replay.
            let late = try await s.ledger.post(
                "/v1/contributions", #"{"accountNumber":"\#(b)","amountFen":40000,"channel":"bank_card","channelTxnId":"\#(lost)","paidAt":"\#(Self.paidAt)"}"#)
            #expect(late.status == 200, "\(late.text)")
            // A corrected statement for the day lists b1 too, and the early deposit at its right
            // time: it clears b1's flag, posts the early deposit (its flag becomes "posted", never
            // a flag for money that moved), posts nothing twice, and the mismatch it repeats is
            // the one already raised.
            let corrected = try await Self.submit(
                s.ledger, Self.deposits([(a1, a, 50_000), (b1, b, 30_000), (c1, c, 25_000), (lost, b, 40_000), (early, a, 30_000)]))
            let correctedId = try #require(corrected.string("statementId"), "\(corrected.text)")
            #expect(corrected.status == 201 && correctedId != statementId, "\(corrected.text)")
            // At least b1's flag is cleared (checked by reference below); the concurrent-import test's
            // statement of the same day may have flagged a1 and c1 as unlisted, and this clears those too.
            #expect(corrected.int("matched") == 3 && corrected.int("posted") == 1 && (corrected.int("clearedEarlierFlags") ?? 0) >= 1, "\(corrected.text)")
            #expect(Self.item(corrected, c1)?["raisedBy"] as? String == statementId)
            let nowPosted = try #require(Self.item(corrected, early))
            #expect(nowPosted["resolution"] as? String == "posted" && nowPosted["raisedBy"] as? String == correctedId)
            #expect(try await WithdrawalTests.balance(s, b) == 70_000)
            #expect(try await WithdrawalTests.balance(s, a) == 80_000)

            // One event per discrepancy, raised once. Delivery is at least once (a relay may publish
            // a record again), so copies are told apart by their CloudEvents id, as a consumer does.
            var byId: [String: StatementDiscrepancy] = [:]
            for message in try await TestStack.read(
                topic: Topic.contributionEvents.name, count: 5,
                where: { message in
                    (try? CloudEventCoding.header(from: message.value).type) == EventType.depositDiscrepancy.rawValue
                        && (try? CloudEventCoding.decode(StatementDiscrepancy.self, from: message.value).data.statementId) == statementId
                })
            {
                byId[try CloudEventCoding.header(from: message.value).id] = try CloudEventCoding.decode(StatementDiscrepancy.self, from: message.value).data
            }
            let events = Array(byId.values)
            #expect(Set(events.map(\.reference)) == [lost, c1, stray, b1, early] && events.count == 5, "\(events.map(\.reference))")
            #expect(events.first { $0.reference == lost }?.resolution == .posted)

            // Staff see what is still open: the mismatch and the unknown account, not the posted
            // deposit nor the unlisted one the corrected statement cleared.
            let open = try await s.ledger.get("/v1/statement-discrepancies?channel=bank_card&limit=500", as: .staff([.auditor]))
            let references = Set(((open["discrepancies"] as? [[String: Any]]) ?? []).compactMap { $0["reference"] as? String })
            #expect(references.isSuperset(of: [c1, stray]) && references.isDisjoint(with: [lost, b1, early]), "\(open.text)")
            let all = try await s.ledger.get("/v1/statement-discrepancies?status=all&channel=bank_card&limit=500")
            let cleared = ((all["discrepancies"] as? [[String: Any]]) ?? []).first { $0["reference"] as? String == b1 }
            #expect(cleared?["clearedBy"] as? String == corrected.string("statementId"), "\(all.text)")
            #expect(try await s.ledger.get("/v1/statement-discrepancies?status=closed").status == 400)

            // The report again, for auditors; nobody else.
            #expect(try await s.ledger.get("/v1/channel-statements/\(statementId)", as: .staff([.auditor])).int("posted") == 1)
            #expect(
                try await s.ledger.get("/v1/channel-statements/\(statementId)", as: .citizen(TestStack.newResidentID(birth: "1990-01-01", male: true))).status
                    == 403)
            #expect(try await s.ledger.get("/v1/channel-statements/\(UUID())").status == 404)
        }
    }

    @Test("a statement is the channel's: unsigned, foreign-signed, altered, cut short or mistyped, it is refused and nothing moves")
    func refusals() async throws {
        try await WithdrawalTests().withServices { s in
            let account = try await WithdrawalTests.openAccount(s)
            let text = Self.deposits([(TestStack.unique("bc-r"), account, 30_000)])
            func refused(_ reply: JSONClient.Reply, _ status: Int, _ code: String) {
                #expect(reply.status == status && reply.string("code") == code, "\(code): \(reply.text)")
            }
            refused(try await Self.submit(s.ledger, text, signature: [:]), 422, "statement_not_signed")
            refused(
                try await Self.submit(s.ledger, text, signature: StatementSignature.developmentHeaders(channel: "wechat", bytes: Array(text.utf8))),
                422, "unknown_statement_key")
            let altered = text.replacingOccurrences(of: "30000", with: "90000")
            refused(
                try await Self.submit(s.ledger, altered, signature: StatementSignature.developmentHeaders(channel: Self.channel, bytes: Array(text.utf8))),
                422, "bad_statement_signature")
            let cut = text.replacingOccurrences(of: "#count=1", with: "#count=2")
            let cutReply = try await Self.submit(s.ledger, cut)
            refused(cutReply, 400, "malformed_statement")
            #expect(cutReply.text.contains("line 7"), "\(cutReply.text)")
            let badAccount = Self.deposits([(TestStack.unique("bc-r"), "32-07", 30_000)])
            refused(try await Self.submit(s.ledger, badAccount), 400, "malformed_statement")
            let twice = Self.deposits([("bc-dup", account, 30_000), ("bc-dup", account, 30_000)])
            refused(try await Self.submit(s.ledger, twice), 400, "malformed_statement")
            refused(
                try await Self.submit(s.ledger, Self.deposits([(TestStack.unique("bc-r"), account, 30_000)], date: TestStack.today.adding(days: 1))),
                422, "statement_date_in_future")
            refused(try await Self.submit(s.ledger, text, contentType: "application/json"), 415, "unsupported_media_type")
            // Payout statements go to the withdrawal service, deposit statements to the ledger.
            refused(try await Self.submit(s.withdrawal, text), 400, "malformed_statement")
            #expect(try await Self.submit(s.ledger, text, as: .staff([.auditor])).status == 403)
            #expect(try await Self.submit(s.ledger, text, as: .anonymous).status == 401)
            #expect(try await WithdrawalTests.balance(s, account) == 0)
        }
    }

    @Test("a payout statement settles a lost confirmation once and flags payouts unlisted, unknown or paid after failure")
    func payoutStatement() async throws {
        try await WithdrawalTests().withServices { s in
            let account = try await WithdrawalTests.openAccount(s, deposits: [1_000_000])
            var payouts: [String] = []
            var withdrawals: [String] = []
            for amount in [10_000, 20_000, 30_000, 40_000, 50_000, 60_000] {
                let reply = try await s.withdrawal.post("/v1/withdrawals", WithdrawalTests.purchase(account, amountFen: amount))
                let id = try #require(reply.string("withdrawalId"), "\(reply.text)")
                let paying = try await WithdrawalTests.await(s, id, stage: "paying")
                payouts.append(try #require(paying.string("payoutId")))
                withdrawals.append(id)
            }
            func confirm(_ index: Int, _ outcome: String, by channel: String = Self.channel) async throws {
                let reply = try await s.withdrawal.send(
                    .post, "/v1/payouts/\(payouts[index])/confirmation",
                    body: #"{"outcome":"\#(outcome)","channelRef":"bc-\#(payouts[index].prefix(8))"}"#,
                    as: .channel(channel))
                #expect(reply.status == 200, "\(reply.text)")
            }
            try await confirm(0, "paid")  // listed: matches
            try await confirm(1, "paid")  // not listed: flagged
            // payouts[2]: its confirmation is lost; payouts[3]: the channel said it failed, yet lists it paid.
            try await confirm(3, "failed")
            try await confirm(4, "paid", by: "wechat")  // paid by WeChat Pay, yet on the bank's statement too
            _ = try await WithdrawalTests.await(s, withdrawals[3], stage: "rejected")
            // The day each instruction went out is the business date of whichever withdrawal instance
            // applied the debit first, and the test stack runs instances on other clocks (dials a few
            // days or months on): pin it to this test's date, which is what one city's suite would have.
            try await TestStack.withDatabase(of: WithdrawalService.descriptor, asOwner: true) { db in
                _ = try await db.query(
                    """
                    UPDATE withdrawals SET payout_requested_on = \(TestStack.today.description)::date WHERE payout_id = ANY(\(payouts.compactMap(UUID.init(uuidString:)))::uuid[])
                    """)
            }
            let strange = UUID().uuidString.lowercased()
            // payouts[5]: the line dates its payment the day before we sent the instruction.
            let text = Self.payouts(
                [
                    (payouts[0], 10_000), (payouts[2], 30_000), (payouts[3], 40_000), (payouts[4], 50_000), (payouts[5], 60_000),
                    (strange, 5_000),
                ], paidAt: [payouts[5]: "2026-03-15T10:00:00+08:00"])
            let report = try await Self.submit(s.withdrawal, text)
            #expect(report.status == 201, "\(report.text)")
            #expect(report.int("matched") == 1 && report.int("settled") == 1, "\(report.text)")
            #expect(Self.item(report, payouts[2])?["kind"] as? String == "payout_not_confirmed")
            #expect(Self.item(report, payouts[1])?["kind"] as? String == "payout_not_in_statement")
            #expect(Self.item(report, payouts[3])?["code"] as? String == "paid_after_failure")
            #expect(Self.item(report, strange)?["kind"] as? String == "unknown_payout")
            #expect(Self.item(report, payouts[4])?["code"] as? String == "paid_by_another_channel")
            #expect(Self.item(report, payouts[5])?["code"] as? String == "paid_before_instruction")
            #expect(try await s.withdrawal.get("/v1/withdrawals/\(withdrawals[5])").string("stage") == "paying")
            let settled = try await s.withdrawal.get("/v1/withdrawals/\(withdrawals[2])")
            #expect(settled.string("status") == "paid" && settled.string("paidOn") == TestStack.today.description, "\(settled.text)")

            // Again: the same report; the late confirmation is a replay; paid once.
            let again = try await Self.submit(s.withdrawal, text)
            #expect(again.status == 200 && again.string("statementId") == report.string("statementId"))
            try await confirm(2, "paid")
            let paidEvents = try await TestStack.read(topic: Topic.withdrawalEvents.name, count: 2, seconds: 10) { message in
                (try? CloudEventCoding.header(from: message.value).type) == EventType.withdrawalPaid.rawValue
                    && (try? CloudEventCoding.decode(WithdrawalPaid.self, from: message.value).data.withdrawalId) == withdrawals[2]
            }
            #expect(TestStack.distinctEvents(paidEvents) == 1, "paid once (copies of one record are one event)")
            let discrepancies = try await TestStack.read(topic: Topic.withdrawalEvents.name, count: 6) { message in
                (try? CloudEventCoding.header(from: message.value).type) == EventType.payoutDiscrepancy.rawValue
                    && (try? CloudEventCoding.decode(StatementDiscrepancy.self, from: message.value).data.statementId) == report.string("statementId")
            }
            #expect(TestStack.distinctEvents(discrepancies) == 6)
            // Another file lists payouts[0] under another reference than the channel confirmed.
            let other = try await Self.submit(s.withdrawal, Self.payouts([(payouts[0], 10_000)], refs: [payouts[0]: "bc-other-ref"]))
            #expect(Self.item(other, payouts[0])?["code"] as? String == "channel_ref_differs", "\(other.text)")
        }
    }

    @Test("five imports of one file at once post each deposit once and answer one report")
    func concurrentImports() async throws {
        try await WithdrawalTests().withServices { s in
            let account = try await WithdrawalTests.openAccount(s)
            // Alipay, not bank_card: this statement's "held but not listed" check must not flag the
            // deposits of the test above, which runs at the same time on the same day.
            let text = Self.deposits((1...3).map { _ in (TestStack.unique("ali-par"), account, 20_000) }, channel: "alipay")
            let replies = try await withThrowingTaskGroup(of: JSONClient.Reply.self) { group in
                for _ in 1...5 { group.addTask { try await Self.submit(s.ledger, text, channel: "alipay") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.map(\.status).sorted() == [200, 200, 200, 200, 201], "\(replies.map(\.text))")
            #expect(Set(replies.compactMap { $0.string("statementId") }).count == 1)
            #expect(replies.allSatisfy { $0.int("posted") == 3 && $0.int("matched") == 0 }, "\(replies.map(\.text))")
            #expect(try await WithdrawalTests.balance(s, account) == 60_000)
            let id = try #require(replies.first?.string("statementId"))
            #expect(try await s.ledger.get("/v1/channel-statements/\(id)").int("posted") == 3)
        }
    }
}
