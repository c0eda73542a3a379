import ArgumentParser
import Foundation
import ServiceRuntime

/// `hpfctl token citizen --id-number N` / `hpfctl token staff --staff-id S --role R[,R]`: prints a
/// development token (valid for `--minutes`, default 60) for curl's `Authorization: Bearer`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a development token for curl's Authorization: Bearer (HPF_ENV=development stacks only).",
        discussion: "Tokens of the development identity provider (issuer https://idp.dev.hpf.lyg.example, kid hpf-dev-idp-1); "
            + "a production stack accepts none of them.",
        subcommands: [Citizen.self, Staff.self])

    struct Citizen: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "citizen", abstract: "A citizen's token.")

        @Option(help: "The citizen's resident ID number.")
        var idNumber: String

        @Option(help: "How long the token is valid, in minutes.")
        var minutes: Int = 60

        func validate() throws {
            guard !idNumber.isEmpty else { throw ValidationError("--id-number is empty") }
            try Checks.within(1...525_600, minutes, "--minutes")
        }

        func run() throws {
            print(DevelopmentIdentity.citizenToken(idNumber: idNumber, lifetime: TimeInterval(minutes * 60)))
        }
    }

    struct Staff: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "staff", abstract: "A staff member's token.")

        @Option(help: "The staff member's id.")
        var staffId: String = "officer-1"

        @Option(
            help: ArgumentHelp(
                "The staff member's roles, comma-separated: "
                    + StaffRole.allCases.map(\.rawValue).joined(separator: ", ") + ".", valueName: "role[,role]"))
        var role: String = "fund_officer"

        @Option(help: "How long the token is valid, in minutes.")
        var minutes: Int = 60

        func validate() throws {
            do { _ = try Credential.roles(role) } catch { throw ValidationError("\(error)") }
            try Checks.within(1...525_600, minutes, "--minutes")
        }

        func run() throws {
            let roles = try Credential.roles(role)
            print(DevelopmentIdentity.staffToken(staffId: staffId, roles: roles, lifetime: TimeInterval(minutes * 60)))
        }
    }
}
