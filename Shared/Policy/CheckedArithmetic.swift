/// Arithmetic on amounts that began outside the suite. The edge keeps every input inside its
/// documented range, but a rule may still combine several of them (an average times a term
/// times a factor), so each such step is checked: an overflow is refused as
/// `amount_out_of_range`, never a trap that would stop the service.
public struct AmountOverflow: Error, Sendable, Equatable {
    public static let code = "amount_out_of_range"
    public let detail: String

    public init(_ detail: String) { self.detail = detail }
}

public enum Checked {
    public static func add(_ a: Int64, _ b: Int64) throws(AmountOverflow) -> Int64 {
        let (value, overflow) = a.addingReportingOverflow(b)
        if overflow { throw AmountOverflow("\(a) + \(b) is beyond any amount") }
        return value
    }

    public static func subtract(_ a: Int64, _ b: Int64) throws(AmountOverflow) -> Int64 {
        let (value, overflow) = a.subtractingReportingOverflow(b)
        if overflow { throw AmountOverflow("\(a) - \(b) is beyond any amount") }
        return value
    }

    public static func multiply(_ a: Int64, _ b: Int64) throws(AmountOverflow) -> Int64 {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw AmountOverflow("\(a) × \(b) is beyond any amount") }
        return value
    }

    /// `amount × basisPoints / 10,000`, rounded half-up to the fen.
    public static func basisPoints(_ amount: Int64, _ basisPoints: Int64) throws(AmountOverflow) -> Int64 {
        Rounding.halfUp(try multiply(amount, basisPoints), 10_000)
    }
}
