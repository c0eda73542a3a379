import ArgumentParser

/// `hpfctl call [--as CREDENTIAL] [--status] METHOD URL [BODY]`: one request with a credential (a
/// channel's signature needs the exact body, which curl cannot compute); prints the body, then
/// `  (HTTP status)` with `--status`.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Send one request with a credential and print the answer's body (development stacks).",
        discussion: "A channel's signature covers the method, path, query and exact body, which curl cannot compute. "
            + "The exit status is 0 whatever the HTTP status (see --status).")

    @OptionGroup var auth: CredentialOption

    @Flag(help: "Print `  (HTTP <status>)` after the body.")
    var status = false

    @Argument(help: "The method: GET, POST, PUT, DELETE, ...")
    var method: String

    @Argument(help: "The URL, e.g. http://127.0.0.1:8082/v1/accounts/3207000000000001/balance.")
    var url: String

    @Argument(help: "The request's JSON body (none by default).")
    var body: String?

    func validate() throws {
        guard !method.isEmpty, method.allSatisfy({ $0.isLetter }) else { throw ValidationError("METHOD is a word such as GET or POST, got '\(method)'") }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("URL starts with http:// or https://, got '\(url)'") }
    }

    func run() async throws {
        let answer = try await HTTPExchange.send(method, url, body: body ?? "", as: auth.credential)
        print(answer.text + (status ? "  (HTTP \(answer.status))" : ""))
    }
}
