import Policy

/// Internal events of the regional-sync service (`hpf.regional.events.v1`): what the ledger and
/// the loan service need from a transfer. No resident ID numbers here (person refs only).

/// `hpf.regional.transfer-in-accepted.v1`: the partner's transfer-out data checked out (state 08);
/// the ledger credits `amountFen` as a `transfer_in` posting, the principal as one subsidy lot.
public struct TransferInAccepted: Codable, Sendable, Equatable {
    public var transferId: String
    public var accountNumber: String
    public var letterNumber: String
    public var sendingCity: String
    public var principalFen: Fen
    public var interestFen: Fen
    public var amountFen: Fen
    public var acceptedOn: BusinessDate

    public init(
        transferId: String, accountNumber: String, letterNumber: String, sendingCity: String, principalFen: Fen,
        interestFen: Fen, amountFen: Fen, acceptedOn: BusinessDate
    ) {
        self.transferId = transferId
        self.accountNumber = accountNumber
        self.letterNumber = letterNumber
        self.sendingCity = sendingCity
        self.principalFen = principalFen
        self.interestFen = interestFen
        self.amountFen = amountFen
        self.acceptedOn = acceptedOn
    }
}

/// `hpf.regional.transfer-out-requested.v1`: a partner's contact letter checked out; the ledger
/// debits the whole balance (kind `transfer_out`) and holds the account `closing`.
/// `hpf.regional.transfer-out-completed.v1`: the partner confirmed; the ledger closes the account.
/// `hpf.regional.transfer-out-failed.v1`: the partner could not credit it; the ledger reverses.
public struct TransferOutStep: Codable, Sendable, Equatable {
    public var transferId: String
    public var accountNumber: String
    public var letterNumber: String
    public var receivingCity: String
    public var on: BusinessDate
    /// Why it failed (failures only).
    public var code: String?

    public init(transferId: String, accountNumber: String, letterNumber: String, receivingCity: String, on: BusinessDate, code: String? = nil) {
        self.transferId = transferId
        self.accountNumber = accountNumber
        self.letterNumber = letterNumber
        self.receivingCity = receivingCity
        self.on = on
        self.code = code
    }
}

/// `hpf.regional.months-recognised.v1` (缴存记录互认): months a partner city's centre recorded for
/// this person, recognised here; the loan service counts them for the 6-month rule (without
/// double counting its own months).
public struct MonthsRecognised: Codable, Sendable, Equatable {
    public var accountNumber: String
    public var transferId: String
    public var partnerCity: String
    public var months: [YearMonth]
    public var recognisedOn: BusinessDate

    public init(accountNumber: String, transferId: String, partnerCity: String, months: [YearMonth], recognisedOn: BusinessDate) {
        self.accountNumber = accountNumber
        self.transferId = transferId
        self.partnerCity = partnerCity
        self.months = months
        self.recognisedOn = recognisedOn
    }
}

/// `hpf.regional.transfer-state-changed.v1`: every state a transfer passes through, for analytics
/// and for anyone following a transfer from the stream alone.
public struct TransferStateChanged: Codable, Sendable, Equatable {
    public enum Direction: String, Codable, Sendable { case `in`, out }
    public var transferId: String
    public var accountNumber: String
    public var direction: Direction
    public var letterNumber: String
    public var partnerCity: String
    public var state: TransferState
    public var stateName: String
    public var code: String?
    public var on: BusinessDate

    public init(
        transferId: String, accountNumber: String, direction: Direction, letterNumber: String, partnerCity: String,
        state: TransferState, code: String?, on: BusinessDate
    ) {
        self.transferId = transferId
        self.accountNumber = accountNumber
        self.direction = direction
        self.letterNumber = letterNumber
        self.partnerCity = partnerCity
        self.state = state
        stateName = state.name
        self.code = code
        self.on = on
    }
}

/// `hpf.contribution.transfer-in-posted.v1` (ledger): a transfer in was credited; `lotId` is the
/// subsidy lot its principal opens (interest is not a lot).
public struct TransferInPosted: Codable, Sendable, Equatable {
    public var transferId: String
    public var accountNumber: String
    public var amountFen: Fen
    public var principalFen: Fen
    public var interestFen: Fen
    public var lotId: String
    public var postedOn: BusinessDate
    public var balanceAfterFen: Fen
    public var sequence: Int64

    public init(
        transferId: String, accountNumber: String, amountFen: Fen, principalFen: Fen, interestFen: Fen, lotId: String,
        postedOn: BusinessDate, balanceAfterFen: Fen, sequence: Int64
    ) {
        self.transferId = transferId
        self.accountNumber = accountNumber
        self.amountFen = amountFen
        self.principalFen = principalFen
        self.interestFen = interestFen
        self.lotId = lotId
        self.postedOn = postedOn
        self.balanceAfterFen = balanceAfterFen
        self.sequence = sequence
    }
}

/// `hpf.contribution.transfer-in-refused.v1` (ledger): the account cannot take the transfer
/// (`unknown_account`, `account_not_active`); the regional-sync service fails the transfer (40).
public struct TransferInRefused: Codable, Sendable, Equatable {
    public var transferId: String
    public var accountNumber: String
    public var code: String
    public var detail: String

    public init(transferId: String, accountNumber: String, code: String, detail: String) {
        self.transferId = transferId
        self.accountNumber = accountNumber
        self.code = code
        self.detail = detail
    }
}

/// `hpf.regional.transfer-payout-instruction.v1`, on the channel-only
/// `hpf.regional.transfer-payout-instructions.v1` (§17, transfer out): the ledger has debited the
/// whole balance; our bank pays `amountFen` to the receiving centre's settlement account (which
/// the bank holds on file by city code: no person's data travels) and confirms on
/// `POST /v1/transfer-payouts/{payoutId}/confirmation`. The transfer-out data goes to the partner
/// only once the money is paid.
public struct TransferPayoutInstruction: Codable, Sendable, Equatable {
    public var payoutId: String
    public var transferId: String
    public var letterNumber: String
    public var receivingCity: String
    public var amountFen: Fen
    public var requestedOn: BusinessDate

    public init(payoutId: String, transferId: String, letterNumber: String, receivingCity: String, amountFen: Fen, requestedOn: BusinessDate) {
        self.payoutId = payoutId
        self.transferId = transferId
        self.letterNumber = letterNumber
        self.receivingCity = receivingCity
        self.amountFen = amountFen
        self.requestedOn = requestedOn
    }
}
