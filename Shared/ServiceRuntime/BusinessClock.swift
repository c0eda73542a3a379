import Foundation
import Policy

/// Today's business date and the current instant, injectable so tests can pin dates.
public struct BusinessClock: Sendable {
    private let fixedDate: BusinessDate?

    public init(fixedDate: BusinessDate? = nil) { self.fixedDate = fixedDate }

    public var today: BusinessDate { fixedDate ?? BusinessDate.of(Date()) }
    public var now: Date { Date() }
}
