import Contracts
import Foundation
import Policy

/// What importing one statement found (the reconciliation report, 对账报告): kept with the
/// statement and answered again, unchanged, when the same file is imported again.
public struct StatementReport: Codable, Sendable {
    public struct Item: Codable, Sendable {
        public var kind: DiscrepancyKind
        /// The channel's transaction id (deposits) or our payout id (payouts).
        public var reference: String
        /// The statement line, when the discrepancy is about a line of this statement.
        public var line: Int?
        public var accountNumber: String?
        public var ourAmountFen: Fen?
        public var channelAmountFen: Fen?
        public var resolution: DiscrepancyResolution
        public var code: String?
        /// The statement that first raised it: this one, or an earlier one that listed the same line.
        public var raisedBy: String

        public init(
            kind: DiscrepancyKind, reference: String, line: Int?, accountNumber: String?, ourAmountFen: Fen?, channelAmountFen: Fen?,
            resolution: DiscrepancyResolution, code: String?, raisedBy: String
        ) {
            self.kind = kind
            self.reference = reference
            self.line = line
            self.accountNumber = accountNumber
            self.ourAmountFen = ourAmountFen
            self.channelAmountFen = channelAmountFen
            self.resolution = resolution
            self.code = code
            self.raisedBy = raisedBy
        }
    }

    public var statementId: String
    public var channel: PaymentChannel
    public var kind: ChannelStatement.Kind
    public var statementDate: BusinessDate
    /// SHA-256 of the file, hex.
    public var digest: String
    /// The channel's key that signed it.
    public var keyId: String
    public var importedAt: String
    /// The officer who imported it (their staff id).
    public var importedBy: String
    public var lines: Int
    public var totalFen: Fen
    /// Lines that agreed with our records.
    public var matched: Int
    /// Lost deposit notifications posted from their lines.
    public var posted: Int
    /// Lost payout confirmations settled from their lines.
    public var settled: Int
    /// Discrepancies left for staff.
    public var flagged: Int
    /// Earlier flags (`deposit_not_in_statement`, `payout_not_in_statement`) this statement cleared
    /// by listing them (a late line on the next day's statement).
    public var clearedEarlierFlags: Int
    public var discrepancies: [Item]
}
