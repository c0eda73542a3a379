/// The dead-letter routes' bodies, shared by the services that answer them and the operator's
/// CLI that reads them (`hpfctl deadletters`). Ids are lower-case, as the dead-letter event's
/// CloudEvents id is written.
public struct DeadLetterEntry: Codable, Sendable {
    public var id: String
    public var seq: Int64
    public var consumer: String
    public var reason: String
    public var detail: String
    public var eventId: String?
    public var eventType: String?
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: String?
    public var deadLetteredAt: String
    /// Whether the record was kept, so that a redrive can hand it back to its consumer.
    public var redrivable: Bool
    public var redrive: Redrive?

    public struct Redrive: Codable, Sendable {
        public var at: String
        public var by: String
        /// `pending` while it runs (or if the service stopped half-way: redrive again), then the
        /// consumer's outcome: `processed`, `duplicate`, `skipped` or `dead_lettered`.
        public var outcome: String
    }
}

/// `GET /v1/dead-letters`: one page, in `seq` order; `nextAfterSeq` when the page is full.
public struct DeadLetterPage: Codable, Sendable {
    public var deadLetters: [DeadLetterEntry]
    public var nextAfterSeq: Int64?
}

/// `POST /v1/dead-letters/{id}/redrive`.
public struct DeadLetterRedriveResult: Codable, Sendable {
    public var id: String
    public var consumer: String
    public var outcome: String
    /// The new letter when the record failed again.
    public var deadLetterId: String?
}
