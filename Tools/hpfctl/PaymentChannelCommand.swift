import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging

/// `hpfctl payment-channel [--url URL] [--fail-suffix DIGITS] [--silent-suffix DIGITS]`: plays the
/// payment channel (`PaymentChannelSimulator`) until interrupted.
struct PaymentChannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment-channel",
        abstract: "Play the payment channel: confirm every payout, until interrupted (development stacks).",
        discussion: "Reads hpf.withdrawal.payout-instructions.v1 (group hpfctl.payment-channel.sim) and confirms each "
            + "payout over HTTP, signed with the channel's development key. Payees whose bank account ends with "
            + "--fail-suffix fail (payee_account_closed); those ending with --silent-suffix are paid but never "
            + "confirmed, so only the channel's statement (`hpfctl channel-statement payouts`) settles them.")

    @Option(help: "The withdrawal service.")
    var url: String = Stack.runURL("withdrawal")

    @Option(help: "The channel whose development key signs the confirmations.")
    var channel: String = "bank_card"

    @Option(help: "Payees whose bank account ends with these digits fail.")
    var failSuffix: String = "0000"

    @Option(help: "Payees whose bank account ends with these digits are paid without a confirmation.")
    var silentSuffix: String = "7777"

    func validate() throws {
        try Checks.digits(failSuffix, "--fail-suffix")
        try Checks.digits(silentSuffix, "--silent-suffix")
    }

    func run() async throws {
        var logger = Logger(label: "hpfctl.payment-channel")
        logger.logLevel = .warning
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let simulator = PaymentChannelSimulator(
            withdrawalURL: url, channel: channel, failSuffix: failSuffix, silentSuffix: silentSuffix,
            http: http, logger: logger)
        print(
            "payment-channel: confirming payouts for \(simulator.withdrawalURL) (accounts ending \(simulator.failSuffix ?? "-") fail, "
                + "ending \(simulator.silentSuffix ?? "-") are paid without a confirmation)")
        fflush(nil)  // stdout is a log file under make run
        try await simulator.run(verbose: true)
    }
}
