import Policy
import Testing

@Suite("Statutory retirement age under the 2024 reform")
struct RetirementTests {
    static let oracles: [(String, RetirementGroup, String)] = [
        ("1965-01", .man, "2025-02"), ("1965-12", .man, "2026-03"), ("1964-02", .man, "2024-02"),
        ("1995-12", .man, "2058-12"), ("1971-04", .womanOriginal55, "2026-08"),
        ("2000-12", .womanOriginal55, "2058-12"), ("1995-12", .womanOriginal50, "2050-12"),
    ]

    @Test("POLICY.md oracles", arguments: oracles)
    func oracle(_ birth: String, _ group: RetirementGroup, _ expected: String) {
        let month = RetirementAge.retirementMonth(birthMonth: YearMonth(birth)!, group: group, on: BusinessDate("2026-03-16")!, parameters: .lianyungang2025)
        #expect(month.description == expected)
    }

    @Test("working age: 16 to the retirement month")
    func workingAge() {
        let p = PolicyParameters.lianyungang2025
        let day = BusinessDate("2026-03-15")!
        #expect(Eligibility.workingAge(birthDate: BusinessDate("2010-03-16")!, group: .man, on: day, parameters: p) == .belowWorkingAge)
        #expect(Eligibility.workingAge(birthDate: BusinessDate("2010-03-15")!, group: .man, on: day, parameters: p) == .eligible)
        // Born 1965-12: retires 2026-03 (oracle), so in March 2026 he is above working age.
        #expect(Eligibility.workingAge(birthDate: BusinessDate("1965-12-01")!, group: .man, on: day, parameters: p) == .aboveRetirementAge)
        #expect(Eligibility.workingAge(birthDate: BusinessDate("1965-12-01")!, group: .man, on: BusinessDate("2026-02-28")!, parameters: p) == .eligible)
    }

    @Test("women default to the original-55 group")
    func defaultGroup() {
        #expect(RetirementGroup.defaultGroup(for: .female) == .womanOriginal55)
        #expect(RetirementGroup.defaultGroup(for: .male) == .man)
    }
}
