/// Money is an integer number of fen (1 yuan = 100 fen) from end to end.
public typealias Fen = Int64

/// Explicit rounding of money computations; every rule names the rounding it uses.
public enum Rounding {
    /// numerator / denominator rounded half away from zero (half-up for the non-negative
    /// amounts the scheme deals in).
    public static func halfUp(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        precondition(denominator > 0, "denominator must be positive")
        let q = numerator / denominator
        let r = numerator % denominator
        if r == 0 { return q }
        if numerator >= 0 { return 2 * r >= denominator ? q + 1 : q }
        return -2 * r >= denominator ? q - 1 : q
    }

    /// Applies a rate in basis points (1 bp = 0.01 %) to an amount, rounding half-up to the fen.
    public static func applyBasisPoints(_ amount: Fen, _ basisPoints: Int64) -> Fen {
        halfUp(amount * basisPoints, 10_000)
    }
}

public extension Fen {
    static func yuan(_ yuan: Int64) -> Fen { yuan * 100 }
}
