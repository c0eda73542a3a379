/// A run of ledger events folded per account, for a handler that writes the run with one
/// statement (`EventHandler.on(_:_:together:)`): an `INSERT … ON CONFLICT DO UPDATE` may touch a
/// row only once, so each account comes once, carrying what the run's events left it (the last
/// balance, amounts added up). Accounts come out in account order, so that an `INSERT … SELECT`
/// from them takes its row locks in that order, as the deposit groups take theirs (a statement
/// that joins them, `UPDATE … FROM`, locks in its plan's order; a consumer's batch that meets a
/// lock gives up after its lock timeout and goes one message at a time).
public struct PerAccount<Value>: Sendable where Value: Sendable {
    private var values: [String: Value] = [:]

    public init() {}

    /// Adds `value` for `account`: the first value of an account as it is, a later one through
    /// `combine(sofar, later)` (the events come in their order).
    public mutating func fold(_ account: String, _ value: Value, _ combine: (inout Value, Value) throws -> Void) rethrows {
        if var sofar = values[account] {
            try combine(&sofar, value)
            values[account] = sofar
        } else {
            values[account] = value
        }
    }

    /// Keeps `value` as the account's latest (a balance after the account's events so far).
    public mutating func keepLast(_ account: String, _ value: Value) { values[account] = value }

    /// Each account once, in account order, with its folded value.
    public var accounts: [(account: String, value: Value)] {
        values.sorted { $0.key < $1.key }.map { (account: $0.key, value: $0.value) }
    }
}
