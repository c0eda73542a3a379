import AsyncHTTPClient
import Contracts
import Foundation
import Kafka
import Logging
import NIOCore

/// Plays the payment channel (a bank, WeChat Pay, Alipay) for the withdrawal saga: reads the
/// `payout-requested` instructions and confirms each one over HTTP, as the real channel does
/// asynchronously. Payees whose bank account ends with `failSuffix` fail with
/// `payee_account_closed`, so the compensation path can be seen too; those ending with
/// `silentSuffix` are paid but their confirmation is lost on the way, so only the channel's
/// payout statement (`hpfctl channel-statement payouts`) settles them.
final class PaymentChannelSimulator: @unchecked Sendable {
    let withdrawalURL: String
    /// The channel whose (development) key signs the confirmations.
    let channel: String
    let failSuffix: String?
    let silentSuffix: String?
    let http: HTTPClient
    let logger: Logger
    private let lock = NSLock()
    private var confirmed: [String: ContinuousClock.Instant] = [:]

    init(withdrawalURL: String, channel: String = "bank_card", failSuffix: String?, silentSuffix: String? = nil, http: HTTPClient, logger: Logger) {
        self.withdrawalURL = withdrawalURL
        self.channel = channel
        self.failSuffix = failSuffix
        self.silentSuffix = silentSuffix
        self.http = http
        self.logger = logger
    }

    /// When each withdrawal was confirmed paid, by withdrawal id.
    var paidAt: [String: ContinuousClock.Instant] { lock.withLock { confirmed } }

    /// Confirms payouts until `until` returns true (checked after each poll), or for ever.
    func run(fromLatest: Bool = false, verbose: Bool = false, until: @Sendable () -> Bool = { false }) async throws {
        var configuration = try Environment.consumer(
            groupID: "hpfctl.payment-channel.\(fromLatest ? UUID().uuidString.prefix(8) : "sim")",
            clientID: "hpfctl-payment-channel")
        if fromLatest { configuration = configuration.with("auto.offset.reset", "latest") }
        let consumer = try KafkaConsumer(configuration: configuration, topics: [Topic.payoutInstructions.name], logger: logger)
        do {
            try await confirmAll(from: consumer, verbose: verbose, until: until)
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    private func confirmAll(from consumer: KafkaConsumer, verbose: Bool, until: @Sendable () -> Bool) async throws {
        while !until() {
            let messages = try await consumer.poll(maxMessages: 500, timeoutMs: 100)
            let payouts = messages.compactMap { message -> PayoutRequested? in
                guard (try? CloudEventCoding.header(from: message.value).type) == EventType.payoutInstruction.rawValue else { return nil }
                return try? CloudEventCoding.decode(PayoutRequested.self, from: message.value).data
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for payout in payouts { group.addTask { try await self.confirm(payout, verbose: verbose) } }
                try await group.waitForAll()
            }
            for message in messages { try consumer.storeOffset(message) }
        }
    }

    private func confirm(_ payout: PayoutRequested, verbose: Bool) async throws {
        let fails = failSuffix.map { payout.payee.bankAccount.hasSuffix($0) } ?? false
        if !fails, let silentSuffix, payout.payee.bankAccount.hasSuffix(silentSuffix) {
            if verbose {
                print("payment-channel: \(payout.withdrawalId) paid \(payout.amountFen) fen; the confirmation is lost")
                fflush(nil)  // the log file (stdout redirected) shows each line as it happens
            }
            return
        }
        let body =
            fails
            ? #"{"outcome":"failed","channelRef":"sim-\#(payout.payoutId)","failureCode":"payee_account_closed"}"#
            : #"{"outcome":"paid","channelRef":"sim-\#(payout.payoutId)"}"#
        var request = HTTPClientRequest(url: "\(withdrawalURL)/v1/payouts/\(payout.payoutId)/confirmation")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        for attempt in 1...20 {
            do {
                // Each attempt is a new signed request (a nonce is single-use).
                var request = request
                Credential.channel(channel).sign(&request, body: body)
                let response = try await http.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                if response.status.code == 200 || response.status.code == 409 {
                    if !fails { lock.withLock { confirmed[payout.withdrawalId] = ContinuousClock.now } }
                    if verbose {
                        print(
                            "payment-channel: \(payout.withdrawalId) \(fails ? "failed (payee_account_closed)" : "paid") \(payout.amountFen) fen to \(payout.payee.name)"
                        )
                        fflush(nil)
                    }
                    return
                }
                logger.warning("confirmation refused", metadata: ["status": "\(response.status.code)", "payout": "\(payout.payoutId)"])
            } catch {
                logger.warning("confirmation failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            }
            try await Task.sleep(for: .milliseconds(200 * attempt))
        }
    }
}
