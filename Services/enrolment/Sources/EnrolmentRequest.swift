import Contracts
import Foundation
import Policy
import ServiceRuntime

/// The body of `POST /v1/enrolments` (CONTRACT.md).
struct EnrolmentRequest: Decodable, Sendable {
    var name: String
    var idNumber: String
    var phone: String
    var employmentType: EmploymentType
    var industry: Industry
    var role: Role
    var county: String
    var residence: Residence
    var childrenCount: Int
    var education: Education
    var retirementGroup: RetirementGroup?
    /// §1 完全民事行为能力; declared by the applicant, true unless stated otherwise.
    var fullCivilCapacity: Bool?
    /// §11: a veteran (退役军人), optional.
    var veteran: Bool?
    var agreement: Agreement
    /// The holder's own bank account for payouts to themselves (closures, and withdrawals paid to
    /// the holder), registered with the agreement; optional.
    var payoutBankAccount: String?

    /// Field checks that need no policy: a failure is a 400 naming each field.
    func fieldErrors() -> [Problem.FieldError] {
        var errors: [Problem.FieldError] = []
        if name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 100 {
            errors.append(.init(field: "name", message: "1 to 100 characters"))
        }
        if !(phone.count == 11 && phone.hasPrefix("1") && phone.allSatisfy(\.isASCII) && phone.allSatisfy(\.isNumber)) {
            errors.append(.init(field: "phone", message: "an 11-digit mainland mobile number"))
        }
        if !(county.count == 6 && county.allSatisfy(\.isASCII) && county.allSatisfy(\.isNumber)) {
            errors.append(.init(field: "county", message: "a 6-digit county code"))
        }
        if childrenCount < 0 || childrenCount > 20 { errors.append(.init(field: "childrenCount", message: "0 to 20")) }
        if agreement.amountFen <= 0 { errors.append(.init(field: "agreement.amountFen", message: "a positive number of fen")) }
        if let account = payoutBankAccount, !BankAccountNumber.isValid(account) {
            errors.append(.init(field: "payoutBankAccount", message: "8 to 32 digits"))
        }
        return errors
    }
}

/// A bank account number as the suite accepts it: 8 to 32 ASCII digits.
enum BankAccountNumber {
    static func isValid(_ text: String) -> Bool { (8...32).contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}
