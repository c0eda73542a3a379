import Policy
import Testing

@Suite("Resident ID (GB 11643, ISO 7064 MOD 11-2)")
struct ResidentIDTests {
    @Test("POLICY.md oracle: valid numbers", arguments: ["11010519491231002X", "440524188001010014", "53010219200508011X"])
    func valid(_ number: String) {
        #expect(ResidentID(number) != nil)
    }

    @Test("POLICY.md oracle: wrong check character")
    func invalidCheck() {
        #expect(ResidentID("530102192005080119") == nil)
    }

    @Test(
        "format, lower-case x and impossible birth dates",
        arguments: [
            ("11010519491231002x", true), ("1101051949123100", false), ("11010519491331002X", false),
            ("1101051949123100AX", false), ("", false),
        ])
    func formats(_ number: String, _ ok: Bool) {
        #expect((ResidentID(number) != nil) == ok)
    }

    @Test("birth date and sex from digits 7-14 and 17")
    func birthAndSex() throws {
        let woman = try #require(ResidentID("11010519491231002X"))
        #expect(woman.birthDate == BusinessDate("1949-12-31"))
        #expect(woman.sex == .female)
        let man = try #require(ResidentID("440524188001010014"))
        #expect(man.sex == .male)
    }

    @Test("a birth date after the business date is refused")
    func futureBirth() {
        #expect(ResidentID("11010519491231002X", asOf: BusinessDate("1949-12-30")!) == nil)
    }

    @Test("masking keeps only the first and last four characters")
    func masking() throws {
        let id = try #require(ResidentID("11010519491231002X"))
        #expect(id.masked == "1101**********002X")
        #expect(!id.masked.contains("19491231"))
    }
}
