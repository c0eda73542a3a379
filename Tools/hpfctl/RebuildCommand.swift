import ArgumentParser
import Foundation
import ServiceRuntime

/// `hpfctl rebuild <service> <read model>`: replays a service's read model from its topics into
/// fresh tables and swaps them in (`POST /v1/read-models/{name}/rebuilds`), following it with a
/// progress bar, then prints the drift it found, table by table. `hpfctl rebuild <service>`
/// lists the service's read models. Needs the staff role operator.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild a service's read model from the topics and swap it in; print the drift.",
        discussion: "The service replays the topics from their start into fresh tables, applying exactly the events its "
            + "consumer applied, then locks the live tables against writers for the last few events and makes them equal "
            + "to the fresh ones row by row. Exit status 0 when the rebuild is done (the drift is printed: rows changed, "
            + "added, removed), 1 when it failed or was refused (404 unknown_read_model, 409 rebuild_in_progress), "
            + "3 when the service stopped answering while it ran (the outcome is unknown: follow it with --follow ID). "
            + "Without a read model, lists the service's read models.")

    @Argument(help: ArgumentHelp("The service: " + Stack.services.map(\.name).joined(separator: ", ") + "."))
    var service: String

    @Argument(help: "The read model (omit to list them).")
    var readModel: String?

    @Option(help: ArgumentHelp("The service's base URL (default: its port on make run's stack).", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("Follow a rebuild already started, by its id, instead of starting one.", valueName: "rebuild-id"))
    var follow: String?

    @Flag(help: "Print the final status as JSON.")
    var json = false

    @OptionGroup var auth: CredentialOption

    func validate() throws {
        guard Stack.services.contains(where: { $0.name == service }) else {
            throw ValidationError("unknown service '\(service)'; one of " + Stack.services.map(\.name).joined(separator: ", "))
        }
        if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) { throw ValidationError("--url starts with http:// or https://, got '\(url)'") }
        if let follow, UUID(uuidString: follow) == nil { throw ValidationError("a rebuild's id is a UUID, got '\(follow)'") }
        if follow != nil, readModel == nil { throw ValidationError("--follow needs the read model") }
    }

    func run() async throws {
        var base = url ?? Stack.runURL(service)
        while base.hasSuffix("/") { base.removeLast() }
        guard let readModel else { return try await list(base) }
        let model = DeadLettersCommand.List.queryValue(readModel)
        var status: ReadModelRebuildStatus
        if let follow {
            status = try await Self.status(base, model, follow.lowercased(), credential: auth.credential)
        } else {
            let answer = try await HTTPExchange.send("POST", "\(base)/v1/read-models/\(model)/rebuilds", as: auth.credential, timeout: .seconds(30))
            guard answer.status == 202 else {
                Environment.warn("rebuild: \(service) refused: \(answer.summary)")
                throw ExitCode.failure
            }
            status = try answer.decode(ReadModelRebuildStatus.self)
            Environment.warn("rebuild \(status.rebuildId) of \(service) \(readModel) started")
        }
        let bar = ProgressBar("rebuild \(readModel)", unit: "records")
        var silentSince: Date?
        while !status.isFinished {
            bar.update(status.eventsRead, of: status.eventsTotal)
            try await Task.sleep(for: .milliseconds(500))
            do {
                status = try await Self.status(base, model, status.rebuildId, credential: auth.credential)
                silentSince = nil
            } catch {
                // A service restarting answers again soon; one silent for a minute leaves the outcome unknown.
                let since = silentSince ?? Date()
                silentSince = since
                if Date().timeIntervalSince(since) > 60 {
                    Environment.warn(
                        "rebuild: \(service) stopped answering (\(error)); the outcome of \(status.rebuildId) is unknown: "
                            + "hpfctl rebuild \(service) \(readModel) --follow \(status.rebuildId)")
                    throw ExitCode(3)
                }
            }
        }
        bar.finish(status.eventsRead, of: status.eventsTotal, note: "(\(ProgressBar.grouped(status.eventsApplied)) events applied)")
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
        }
        guard status.state == "done" else {
            Environment.warn("rebuild \(status.rebuildId) \(status.state): \(status.error ?? "no detail")")
            throw ExitCode.failure
        }
        if !json {
            let tables = status.tables ?? []
            let rows = tables.map { [$0.table, "\($0.rows)", "\($0.changed)", "\($0.added)", "\($0.removed)"] }
            print(Table.render([["TABLE", "ROWS", "CHANGED", "ADDED", "REMOVED"]] + rows))
            let drift = tables.reduce(0) { $0 + $1.changed + $1.added + $1.removed }
            print(drift == 0 ? "no drift: the live tables matched the events" : "drift mended: \(drift) row\(drift == 1 ? "" : "s") changed, added or removed")
        }
    }

    static func status(_ base: String, _ model: String, _ id: String, credential: Credential) async throws -> ReadModelRebuildStatus {
        let answer = try await HTTPExchange.send("GET", "\(base)/v1/read-models/\(model)/rebuilds/\(id)", as: credential, timeout: .seconds(30))
        guard answer.status == 200 else { throw CommandError(answer.summary) }
        return try answer.decode(ReadModelRebuildStatus.self)
    }

    private func list(_ base: String) async throws {
        let answer = try await HTTPExchange.send("GET", "\(base)/v1/read-models", as: auth.credential, timeout: .seconds(30))
        guard answer.status == 200 else { throw CommandError(answer.summary) }
        let models = try answer.decode(ReadModelList.self).readModels
        guard !models.isEmpty else { return print("(\(service) has no read models to rebuild)") }
        print(
            Table.render(
                [["READ MODEL", "CONSUMER", "TOPICS", "TABLES"]]
                    + models.map { [$0.name, $0.consumer, $0.topics.joined(separator: ","), $0.tables.joined(separator: ",")] }))
    }
}
