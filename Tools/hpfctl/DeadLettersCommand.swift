import ArgumentParser
import Foundation
import NIOCore
import ServiceRuntime

/// `hpfctl deadletters list|redrive`: what the services' consumers dead-lettered
/// (`GET /v1/dead-letters` on every service), and re-delivery of one kept record to the consumer
/// that refused it, through its inbox (`POST /v1/dead-letters/{id}/redrive`). Listing needs the
/// staff role operator or auditor, a redrive operator; the default credential `officer` has every
/// role (development stacks).
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadletters",
        abstract: "List the services' dead letters; redrive one to its consumer.",
        discussion: "Every service keeps what its consumers dead-lettered, with the reason and (but for partner messages) "
            + "the record, so that once the cause is mended a redrive hands the record back to its consumer through "
            + "the inbox (it takes effect at most once). Without --url both ask make run's six services ("
            + Stack.services.map { "\($0.name) \($0.port)" }.joined(separator: ", ") + "). "
            + "Listing needs the staff role operator or auditor, a redrive operator.",
        subcommands: [List.self, Redrive.self])

    enum State: String, CaseIterable, ExpressibleByArgument {
        case open, redriven, all
    }

    /// One letter as `GET /v1/dead-letters` gives it, with the service that holds it (in the
    /// JSON lines, a `service` member beside the letter's own).
    struct Letter: Encodable, Sendable {
        var service: String
        var entry: DeadLetterEntry

        enum Keys: String, CodingKey { case service }

        func encode(to encoder: any Encoder) throws {
            try entry.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(service, forKey: .service)
        }
    }

    /// Where to ask: the URLs given, or make run's six services.
    static func endpoints(_ urls: [String]) -> [(name: String, url: String)] {
        if urls.isEmpty { return Stack.services.map { (name: $0.name, url: $0.url) } }
        return urls.map { url in
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            return (name: Stack.serviceName(of: url), url: base)
        }
    }

    // MARK: - list

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "The dead letters of every service (or of --url), as a table or JSON lines.",
            discussion: "A service that does not answer is reported on standard error; the exit status is 1 only when none answered.")

        @Option(help: ArgumentHelp("A service's base URL; repeat for several (default: make run's six services).", valueName: "url"))
        var url: [String] = []

        @Option(help: "open (not redriven yet), redriven or all.")
        var state: State = .open

        @Option(help: "Only the letters of this consumer.")
        var consumer: String?

        @Flag(help: "One JSON object per line: the letter as the service gives it, with \"service\".")
        var json = false

        @OptionGroup var auth: CredentialOption

        func validate() throws {
            for base in url where !(base.hasPrefix("http://") || base.hasPrefix("https://")) {
                throw ValidationError("--url starts with http:// or https://, got '\(base)'")
            }
        }

        func run() async throws {
            var letters: [Letter] = []
            var answered = 0
            let endpoints = DeadLettersCommand.endpoints(url)
            for endpoint in endpoints {
                do {
                    let found = try await Self.fetch(endpoint.url, state: state, consumer: consumer, credential: auth.credential)
                    answered += 1
                    letters += found.map { Letter(service: endpoint.name, entry: $0) }
                } catch {
                    Environment.warn("deadletters: \(endpoint.name) (\(endpoint.url)): \(error)")
                }
            }
            guard answered > 0 else { throw CommandError("no service gave its dead letters (\(endpoints.map { $0.url }.joined(separator: ", ")))") }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for letter in letters { print(String(decoding: try encoder.encode(letter), as: UTF8.self)) }
                return
            }
            guard !letters.isEmpty else {
                let which = state == .all ? "" : "\(state.rawValue) "
                print("(no \(which)dead letters\(consumer.map { " of \($0)" } ?? "") on \(answered) service\(answered == 1 ? "" : "s"))")
                return
            }
            let header = ["SERVICE", "ID", "CONSUMER", "REASON", "RECORD", "KEY", "WHEN", "REDRIVE", "DETAIL"]
            let rows = letters.map { listed in
                let letter = listed.entry
                return [
                    listed.service, letter.id, letter.consumer, letter.reason, "\(letter.topic)/\(letter.partition)@\(letter.offset)",
                    letter.key ?? "-", letter.deadLetteredAt, Self.redriveText(letter), Table.cut(Self.oneLine(letter.detail), 80),
                ]
            }
            print(Table.render([header] + rows))
        }

        static func redriveText(_ letter: DeadLetterEntry) -> String {
            if let redrive = letter.redrive { return "\(redrive.outcome) (\(redrive.by) \(redrive.at))" }
            return letter.redrivable ? "redrivable" : "not redrivable"
        }

        static func oneLine(_ text: String) -> String {
            text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        }

        /// Every page of one service's letters (`afterSeq` until `nextAfterSeq` is absent).
        static func fetch(_ base: String, state: State, consumer: String?, credential: Credential) async throws -> [DeadLetterEntry] {
            var letters: [DeadLetterEntry] = []
            var after: Int64?
            repeat {
                var query = "state=\(state.rawValue)&limit=1000"
                if let consumer { query += "&consumer=" + Self.queryValue(consumer) }
                if let after { query += "&afterSeq=\(after)" }
                let answer = try await HTTPExchange.send("GET", "\(base)/v1/dead-letters?\(query)", as: credential, timeout: .seconds(30))
                guard answer.status == 200 else { throw CommandError(answer.summary) }
                let page = try answer.decode(DeadLetterPage.self)
                letters += page.deadLetters
                // A page that does not move on ends the walk rather than looping.
                if let next = page.nextAfterSeq, next > (after ?? 0), !page.deadLetters.isEmpty { after = next } else { after = nil }
            } while after != nil
            return letters
        }

        static func queryValue(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"))
                ?? text
        }
    }

    // MARK: - redrive

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "redrive",
            abstract: "Hand a dead letter's record back to its consumer, through the inbox.",
            discussion: "Without --url each of make run's services is asked in turn until one knows the letter (answers other "
                + "than 404). Exit status 0 when the consumer processed the record, found it a duplicate or skipped it; "
                + "1 when it dead-lettered it again (a new letter, printed), or when the redrive was refused "
                + "(404 unknown_dead_letter; 409 already_redriven, redrive_in_progress, reason_not_redrivable, not_redrivable, "
                + "superseded, unknown_consumer); 3 when the letter was not found but a service did not answer (outcome unknown).")

        @Argument(help: "The dead letter's id, as `deadletters list` shows it.")
        var deadLetterId: String

        @Option(help: "The service that holds the letter (default: make run's six services in turn).")
        var url: String?

        @OptionGroup var auth: CredentialOption

        func validate() throws {
            guard UUID(uuidString: deadLetterId) != nil else { throw ValidationError("a dead letter's id is a UUID, got '\(deadLetterId)'") }
            if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw ValidationError("--url starts with http:// or https://, got '\(url)'")
            }
        }

        func run() async throws {
            let id = deadLetterId.lowercased()
            let endpoints = DeadLettersCommand.endpoints(url.map { [$0] } ?? [])
            var answered = 0
            var unknown: HTTPAnswer?
            var silent: [String] = []
            for endpoint in endpoints {
                let answer: HTTPAnswer
                do {
                    answer = try await HTTPExchange.send(
                        "POST", "\(endpoint.url)/v1/dead-letters/\(id)/redrive", as: auth.credential,
                        timeout: .seconds(120))
                } catch {
                    Environment.warn("deadletters: \(endpoint.name) (\(endpoint.url)): \(error)")
                    silent.append(endpoint.name)
                    continue
                }
                answered += 1
                if answer.status == 404 {
                    unknown = answer
                    continue
                }
                try Self.report(answer, id: id, service: endpoint.name)
                return
            }
            guard answered > 0 else { throw CommandError("no service answered (\(endpoints.map { $0.url }.joined(separator: ", ")))") }
            // A service that did not answer may hold the letter, and may even be redriving it now:
            // the outcome is unknown, not "no such letter".
            if !silent.isEmpty {
                Environment.warn(
                    "deadletters: \(id) is not on the services that answered; \(silent.joined(separator: ", ")) did not answer: "
                        + "the outcome is unknown (see `hpfctl deadletters list --state all`)")
                throw ExitCode(3)
            }
            let place = endpoints.count == 1 ? endpoints[0].name : "any of \(endpoints.map { $0.name }.joined(separator: ", "))"
            Environment.warn("deadletters: no dead letter \(id) on \(place): \(unknown?.summary ?? "HTTP 404")")
            throw ExitCode.failure
        }

        /// Prints the outcome; throws exit status 1 unless the record was handled.
        static func report(_ answer: HTTPAnswer, id: String, service: String) throws {
            guard answer.status == 200 else {
                Environment.warn("deadletters: redrive of \(id) on \(service) refused: \(answer.summary)")
                throw ExitCode.failure
            }
            let result = try answer.decode(DeadLetterRedriveResult.self)
            print("dead letter \(result.id) (\(service), consumer \(result.consumer)): \(result.outcome)")
            switch result.outcome {
            case "processed", "duplicate", "skipped":
                return
            default:
                if let again = result.deadLetterId { print("the record failed again: new dead letter \(again)") }
                throw ExitCode.failure
            }
        }
    }
}
