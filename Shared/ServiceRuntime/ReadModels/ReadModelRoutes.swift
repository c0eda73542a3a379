import Foundation
import Hummingbird
import PostgresNIO

/// `GET /v1/read-models` (operator, auditor), `POST /v1/read-models/{name}/rebuilds` (operator)
/// and `GET /v1/read-models/{name}/rebuilds/{id}` (operator, auditor), on every service: the
/// service's read models, and their rebuild from the topics (`ReadModelRebuild`), which runs in
/// the background and is followed by its status (`hpfctl rebuild` draws it as a progress bar).
struct ReadModelRoutes: Sendable {
    let runtime: ServiceRuntime

    @Sendable func list(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let models = runtime.readModels.all.map { ReadModelEntry(name: $0.name, consumer: $0.consumer, topics: $0.topics, tables: $0.tables) }
        return try HTTPJSON.response(.ok, ReadModelList(readModels: models))
    }

    /// 202 with the rebuild's status and its Location; 409 `rebuild_in_progress` while another
    /// rebuild of the model runs (one cut off by a stop is `abandoned` after two minutes).
    @Sendable func start(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let model = try self.model(context)
        let id = UUID()
        let requestedBy = context.caller?.staffId ?? "unknown"
        try await runtime.database.transaction { connection in
            try await connection.query(
                """
                UPDATE read_model_rebuilds SET state = 'abandoned', finished_at = now()
                WHERE read_model = \(model.name) AND state IN ('running', 'swapping')
                  AND heartbeat_at < now() - make_interval(secs => \(ReadModelRebuild.abandonedAfterSeconds))
                """, logger: context.logger)
            let inserted = try await connection.query(
                """
                INSERT INTO read_model_rebuilds (id, read_model, consumer, state, requested_by) VALUES (\(id), \(model.name), \(model.consumer), 'running', \(requestedBy))
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: context.logger)
            var started = false
            for try await _ in inserted { started = true }
            guard started else {
                throw Problem.conflict("rebuild_in_progress", "read model \(model.name) is being rebuilt; follow that rebuild or ask again when it ends")
            }
        }
        let rebuild = ReadModelRebuild(id: id, model: model, runtime: runtime)
        // In the background: the request answers at once and the status route follows it. A stop
        // of the service cuts it off before its swap (nothing is swapped in) or after (all is).
        Task.detached { await rebuild.run() }
        var response = try HTTPJSON.response(.accepted, try await status(model.name, id, logger: context.logger))
        response.headers[.location] = "/v1/read-models/\(model.name)/rebuilds/\(id.uuidString.lowercased())"
        return response
    }

    @Sendable func get(_ request: Request, context: HPFRequestContext) async throws -> Response {
        let model = try self.model(context)
        let text = try context.parameters.require("rebuildId")
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("unknown_rebuild", "no rebuild \(text.prefix(64))") }
        return try HTTPJSON.response(.ok, try await status(model.name, id, logger: context.logger))
    }

    private func model(_ context: HPFRequestContext) throws -> ReadModel {
        let name = try context.parameters.require("readModel")
        guard let model = runtime.readModels.model(named: name) else {
            throw Problem.notFound("unknown_read_model", "\(runtime.descriptor.name) has no read model \(name.prefix(64)) (GET /v1/read-models lists them)")
        }
        return model
    }

    private func status(_ model: String, _ id: UUID, logger: Logger) async throws -> ReadModelRebuildStatus {
        let rows = try await runtime.database.query(
            """
            SELECT state, requested_by, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS started_at,
                   to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS finished_at, events_total, events_read, events_applied,
                   tables::text AS tables, error,
                   state IN ('running', 'swapping') AND heartbeat_at < now() - make_interval(secs => \(ReadModelRebuild.abandonedAfterSeconds)) AS stale
            FROM read_model_rebuilds WHERE id = \(id) AND read_model = \(model)
            """)
        for try await row in rows {
            let c = NamedColumns(row, table: "read_model_rebuilds")
            let tables: String? = try c("tables")
            let diffs = tables.flatMap { try? JSONDecoder().decode([ReadModelTableDiff].self, from: Data($0.utf8)) }
            let state: String = try c("state")
            return ReadModelRebuildStatus(
                rebuildId: id.uuidString.lowercased(), readModel: model, state: try c("stale", as: Bool.self) ? "abandoned" : state,
                requestedBy: try c("requested_by"), startedAt: try c("started_at"), finishedAt: try c("finished_at"),
                eventsTotal: try c("events_total"), eventsRead: try c("events_read"), eventsApplied: try c("events_applied"),
                tables: diffs, error: try c("error"))
        }
        throw Problem.notFound("unknown_rebuild", "no rebuild \(id.uuidString.lowercased()) of \(model)")
    }
}
