import ServiceRuntime

/// The personal data withdrawal keeps, sealed at rest (PersonalDataCipher): the payee (收款人:
/// name and bank account) of each withdrawal and rent plan, and each withdrawal's evidence (it
/// names the payee's bank account and certificate numbers). The jsonb columns hold the sealed
/// text as a JSON string.
enum SealedWithdrawalData {
    static let payee = SealedColumn(table: "withdrawals", column: "payee", rowKey: "withdrawal_id", json: true)
    static let evidence = SealedColumn(table: "withdrawals", column: "evidence", rowKey: "withdrawal_id", json: true)
    static let planPayee = SealedColumn(table: "rent_plans", column: "payee", rowKey: "plan_id", json: true)
    static let all = [payee, evidence, planPayee]
}
