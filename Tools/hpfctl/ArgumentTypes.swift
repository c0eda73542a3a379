import ArgumentParser
import Foundation
import Policy

/// `--as-of 2027-01-01`, `--date 2026-03-16`: a business date, `YYYY-MM-DD` strictly.
extension BusinessDate: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

/// A comma-separated list of positive integers: `--seed-accounts 5000,500000`.
struct IntList: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var values: [Int]

    init(_ values: [Int]) { self.values = values }

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        values = parts.compactMap { $0 }
    }

    var description: String { values.map { String($0) }.joined(separator: ",") }
}

/// `--as CREDENTIAL`: who hpfctl says it is to a development stack (see `Credential`).
struct CredentialOption: ParsableArguments {
    @Option(
        name: .customLong("as"),
        help: ArgumentHelp(
            "Who calls: officer (the default: staff with every role), citizen:ID, staff:ID:ROLE[,ROLE], "
                + "channel:NAME (a signed request) or none.", valueName: "credential"),
        transform: { try Credential($0) })
    var credential: Credential = .officer
}
