import ArgumentParser
import Foundation
import Kafka
import ServiceRuntime

/// What hpfctl reads from its environment (`hpfctl --help` lists the variables).
enum Environment {
    static var variables: [String: String] { ProcessInfo.processInfo.environment }
    static var brokers: String { variables["HPF_KAFKA_BROKERS"] ?? "127.0.0.1:9092" }

    /// The broker's security as the services read it (HPF_KAFKA_SECURITY_PROTOCOL, HPF_KAFKA_SASL_*,
    /// HPF_KAFKA_CA_FILE, ...): plaintext for the dev stacks, SASL_SSL for the compose stack's
    /// host listener. A setting that does not read stops the command.
    static func kafka(_ configuration: KafkaConfiguration) throws -> KafkaConfiguration {
        do {
            return try TransportSettings.fromEnvironment(variables).apply(to: configuration)
        } catch let error as ConfigurationError {
            throw CommandError("\(error)")
        }
    }

    static func consumer(groupID: String, clientID: String = "hpfctl") throws -> KafkaConfiguration {
        try kafka(.consumer(brokers: brokers, groupID: groupID, clientID: clientID))
    }

    static func producer(clientID: String = "hpfctl") throws -> KafkaConfiguration {
        try kafka(.producer(brokers: brokers, clientID: clientID))
    }

    /// A line on standard error (what went wrong with one service among several, say).
    static func warn(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// A failure while a command runs (its options were fine): printed as `Error: <description>`, exit 1.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The range checks of the commands' `validate()`: a refused value stops the command before it
/// does anything, with the usage line and exit status 64.
enum Checks {
    static func atLeast(_ minimum: Int, _ value: Int, _ option: String) throws {
        guard value >= minimum else { throw ValidationError("\(option) must be at least \(minimum), got \(value)") }
    }

    static func within(_ range: ClosedRange<Int>, _ value: Int, _ option: String) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
    }

    /// Digits only, at least one (`--fail-suffix`, `--silent-suffix`).
    static func digits(_ value: String, _ option: String) throws {
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw ValidationError("\(option) takes digits, got '\(value)'")
        }
    }
}

/// Plain-text columns for the commands' tables.
enum Table {
    /// `text` padded with spaces to `width` characters (never cut).
    static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    /// `text` cut to `width` characters, with an ellipsis when it was longer.
    static func cut(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
    }

    /// Rows (the first one the header) as columns two spaces apart; the last column is not padded.
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max(), columns > 0 else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in index == row.count - 1 ? cell : Table.pad(cell, widths[index]) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
