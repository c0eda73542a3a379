import ServiceRuntime

/// The personal data enrolment keeps, sealed at rest (PersonalDataCipher): the holder's name
/// (姓名), phone (手机号) and own bank account for payouts. The resident ID number is never stored;
/// only its keyed hash (person_ref) and masked form are.
enum SealedAccountData {
    static let name = SealedColumn(table: "accounts", column: "name", rowKey: "account_number")
    static let phone = SealedColumn(table: "accounts", column: "phone", rowKey: "account_number")
    static let payoutBankAccount = SealedColumn(table: "accounts", column: "payout_bank_account", rowKey: "account_number")
    static let all = [name, phone, payoutBankAccount]
}
