import Foundation
import Policy

/// Today's business date and the current instant, injectable so tests can pin dates.
public struct BusinessClock: Sendable {
    /// A business date that a test moves forward (a month of rent plans, say) while the
    /// services run.
    public final class Dial: @unchecked Sendable {
        private let lock = NSLock()
        private var date: BusinessDate
        public init(_ date: BusinessDate) { self.date = date }
        public var today: BusinessDate { lock.withLock { date } }
        public func set(_ date: BusinessDate) { lock.withLock { self.date = date } }
    }

    private let fixedDate: BusinessDate?
    private let dial: Dial?

    public init(fixedDate: BusinessDate? = nil) {
        self.fixedDate = fixedDate
        dial = nil
    }

    public init(dial: Dial) {
        fixedDate = nil
        self.dial = dial
    }

    public var today: BusinessDate { dial?.today ?? fixedDate ?? BusinessDate.of(Date()) }
    public var now: Date { Date() }
}
