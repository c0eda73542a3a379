import Contracts
import Contribution
import Enrolment
import Foundation
import HummingbirdTesting
import Kafka
import Logging
import ServiceRuntime
import Subsidy
import Testing

/// One deposit followed by its W3C trace id through every service it touches: the request's
/// `traceparent` continues into the ledger's event, the subsidy service's handling of it, the
/// grant that handling writes, and the ledger's credit of the grant.
@Suite("Trace context across HTTP and Kafka")
struct TraceContextTests {
    func withServices(_ body: @escaping @Sendable (JSONClient, JSONClient, JSONClient) async throws -> Void) async throws {
        try await TestStack.withServices([.init(EnrolmentService.self), .init(ContributionService.self), .init(SubsidyService.self)]) {
            try await body($0.enrolment, $0.ledger, $0.subsidy)
        }
    }

    /// The trace id of a record's `traceparent` header.
    func traceID(_ message: KafkaMessage) -> String? { message.header("traceparent").flatMap(TraceParent.init(header:))?.traceID }

    func record(_ type: EventType, on topic: Topic, account: String) async throws -> KafkaMessage? {
        try await TestStack.read(topic: topic.name, count: 1, seconds: 90) {
            $0.keyString == account && (try? CloudEventCoding.header(from: $0.value).type) == type.rawValue
        }.first
    }

    @Test("a deposit's trace id reaches the ledger's event, the subsidy grant and the ledger's credit of it")
    func depositFollowedThroughServices() async throws {
        try await withServices { enrolment, ledger, subsidy in
            let person = TestStack.newResidentID(birth: "2003-06-06", male: true)
            let enrolled = try await enrolment.post(
                "/v1/enrolments",
                Bodies.enrolment(
                    idNumber: person, education: #"{"level":"bachelor","graduationDate":"2025-06-30"}"#))
            let account = try #require(enrolled.string("accountNumber"), "\(enrolled.text)")
            // Both know the account before the deposit: the grant then follows the deposit (and not the
            // enrolment, whose trace it would carry if the profile arrived last).
            #expect(
                try await TestStack.eventually {
                    guard try await ledger.get("/v1/accounts/\(account)/balance").status == 200 else { return false }
                    return try await subsidy.get("/v1/accounts/\(account)/subsidies").status == 200
                })

            let caller = TraceParent.root()
            let paid = try await ledger.send(
                .post, "/v1/contributions", body: Bodies.contribution(account: account, amountFen: 50_000, txn: TestStack.unique("wx")),
                headers: ["traceparent": caller.header])
            #expect(paid.status == 201, "\(paid.text)")
            // The answer names the request's own span in the caller's trace.
            let answered = try #require(paid.headers["traceresponse"].flatMap(TraceParent.init(header:)))
            #expect(answered.traceID == caller.traceID && answered.spanID != caller.spanID)

            let received = try #require(try await record(.contributionReceived, on: .contributionEvents, account: account))
            #expect(traceID(received) == caller.traceID)
            let granted = try #require(try await record(.subsidyGranted, on: .subsidyEvents, account: account), "the opening subsidy")
            #expect(traceID(granted) == caller.traceID)
            let credited = try #require(try await record(.subsidyCredited, on: .contributionEvents, account: account), "the ledger's credit")
            #expect(traceID(credited) == caller.traceID)
            // Each hop is its own span.
            let spans = [received, granted, credited].compactMap { $0.header("traceparent").flatMap(TraceParent.init(header:))?.spanID }
            #expect(Set(spans).count == 3)

            // The operator's view of the account tells the same story across the topics, in order, once each.
            let story = try await HPFCtl.run(["account", account, "--json", "--seconds", "120"])
            #expect(story.status == 0, "\(story)")
            let types = story.output.split(separator: "\n").compactMap { line -> String? in
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                return (object?["event"] as? [String: Any])?["type"] as? String
            }
            let expected: [EventType] = [.accountOpened, .contributionReceived, .subsidyGranted, .subsidyCredited]
            #expect(expected.allSatisfy { type in types.filter { $0 == type.rawValue }.count == 1 }, "\(types)")
            #expect(expected.compactMap { types.firstIndex(of: $0.rawValue) } == expected.compactMap { types.firstIndex(of: $0.rawValue) }.sorted())

            // The consumer guide's example consumer counts this deposit under its county and month,
            // and the opening subsidy in the month's spend (other tests' events share the topics).
            let report = try await HPFCtl.run(["report", "monthly", "--json", "--seconds", "20"])
            #expect(report.status == 0, "\(report)")
            let figures = (try? JSONSerialization.jsonObject(with: Data(report.output.utf8))) as? [String: Any] ?? [:]
            let month = TestStack.today.yearMonth.description
            let cell = (figures["contributions"] as? [[String: Any]] ?? []).first { $0["month"] as? String == month && $0["county"] as? String == "320706" }
            #expect(((cell?["contributionFen"] as? NSNumber)?.int64Value ?? 0) >= 50_000, "\(report.output.prefix(2000))")
            let spend = (figures["subsidies"] as? [[String: Any]] ?? []).first { $0["month"] as? String == month }
            #expect(((spend?["subsidyFen"] as? NSNumber)?.int64Value ?? 0) >= 40_000, "\(report.output.prefix(2000))")
            #expect((figures["notVerified"] as? NSNumber) != nil)
        }
    }

    @Test("a request without a trace, or with a malformed one, starts a new trace")
    func newTraceWhenNoneOrMalformed() async throws {
        try await withServices { enrolment, _, _ in
            for header in [
                nil, "00-ABCDEF0123456789abcdef0123456789-0123456789abcdef-01", "00-00000000000000000000000000000000-0123456789abcdef-01", "garbage",
            ] {
                let reply = try await enrolment.send(
                    .get, "/v1/statistics?groupBy=county", as: .staff([.auditor]),
                    headers: header.map { ["traceparent": $0] } ?? [:])
                #expect(reply.status == 200)
                let answered = try #require(reply.headers["traceresponse"].flatMap(TraceParent.init(header:)), "\(reply.headers)")
                #expect(answered.traceID.count == 32 && answered.traceID != "abcdef0123456789abcdef0123456789")
            }
            // A refusal carries its trace as well.
            let caller = TraceParent.root()
            let refused = try await enrolment.send(.get, "/v1/statistics?groupBy=county", as: .anonymous, headers: ["traceparent": caller.header])
            #expect(refused.status == 401)
            #expect(refused.headers["traceresponse"].flatMap(TraceParent.init(header:))?.traceID == caller.traceID, "\(refused.headers)")
        }
    }
}

@Suite("Trace parent and JSON log lines")
struct TraceParentTests {
    @Test("traceparent values are read as the W3C specification says")
    func parsing() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        #expect(TraceParent(header: valid)?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TraceParent(header: valid)?.header == valid)
        #expect(TraceParent(header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled == false)
        // A later version is read by its version-00 prefix; version ff and upper case are refused.
        #expect(TraceParent(header: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")?.spanID == "00f067aa0ba902b7")
        for refused in [
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "", String(repeating: "0", count: 200),
        ] {
            #expect(TraceParent(header: refused) == nil, "\(refused)")
        }
        let root = TraceParent.root()
        #expect(root.child().traceID == root.traceID && root.child().spanID != root.spanID)
    }

    @Test("a log line's own fields cannot be overwritten by metadata; the current trace is on the line")
    func logFields() {
        let trace = TraceParent.root()
        let fields = JSONLogHandler.fields(
            label: "hpf.test", level: .info, message: "request",
            metadata: ["level": "critical", "msg": "forged", "ts": "1970", "logger": "x", "account": "320700"], trace: trace)
        #expect(fields["level"] == "info" && fields["msg"] == "request" && fields["logger"] == "hpf.test" && fields["ts"] != "1970")
        #expect(fields["meta.level"] == "critical" && fields["meta.msg"] == "forged" && fields["account"] == "320700")
        #expect(fields["trace_id"] == trace.traceID && fields["span_id"] == trace.spanID)
    }

    @Test("a log line is one JSON object on one line, keys sorted, whatever the values hold")
    func logLine() throws {
        let object = [
            "msg": "quote \" backslash \\ slash / tab \t newline \n nul \u{0} bell \u{7} 公积金 🏠", "account": "320700",
            "Zebra": "", "level": "info", "a.b": "x",
        ]
        let line = JSONLogHandler.line(object)
        #expect(line.last == 0x0A && line.dropLast().allSatisfy { $0 != 0x0A })
        let parsed = try #require(try JSONSerialization.jsonObject(with: line) as? [String: String])
        #expect(parsed == object)
        let keys = Array(object.keys).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        let text = String(decoding: line, as: UTF8.self)
        let positions = keys.map { text.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted())
        #expect(text.contains(#"slash / tab"#) && text.contains(#"\u0000"#))
    }
}
