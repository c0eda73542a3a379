/// The read-model routes' bodies, shared by the services that answer them and the operator's CLI
/// (`hpfctl rebuild`).
public struct ReadModelEntry: Codable, Sendable {
    public var name: String
    public var consumer: String
    public var topics: [String]
    public var tables: [String]
}

/// `GET /v1/read-models`.
public struct ReadModelList: Codable, Sendable {
    public var readModels: [ReadModelEntry]
}

/// One table's drift found by a rebuild: rows of the live table that differed from the rebuilt
/// ones (`changed`, now updated), were missing (`added`) or had no event behind them (`removed`).
public struct ReadModelTableDiff: Codable, Sendable, Equatable {
    public var table: String
    /// Rows in the rebuilt table.
    public var rows: Int64
    public var changed: Int64
    public var added: Int64
    public var removed: Int64
}

/// `POST /v1/read-models/{name}/rebuilds` and `GET /v1/read-models/{name}/rebuilds/{id}`.
public struct ReadModelRebuildStatus: Codable, Sendable {
    public var rebuildId: String
    public var readModel: String
    /// `running`, `swapping` (the live tables locked against writers), `done`, `failed`, or
    /// `abandoned` (its service stopped before the end: nothing was swapped in).
    public var state: String
    public var requestedBy: String
    public var startedAt: String
    public var finishedAt: String?
    /// Records on the topics when it began (at least), read so far, and events applied.
    public var eventsTotal: Int64
    public var eventsRead: Int64
    public var eventsApplied: Int64
    /// Once `done`: the drift, table by table.
    public var tables: [ReadModelTableDiff]?
    public var error: String?

    public var isFinished: Bool { state == "done" || state == "failed" || state == "abandoned" }
}
