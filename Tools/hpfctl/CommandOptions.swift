import Foundation

/// `--name value` options and positional arguments.
struct CommandOptions {
    var positional: [String] = []
    var named: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            if argument.hasPrefix("--") { named[String(argument.dropFirst(2))] = iterator.next() ?? "" } else { positional.append(argument) }
        }
    }

    func int(_ name: String, _ fallback: Int) -> Int { named[name].flatMap(Int.init) ?? fallback }
    func string(_ name: String, _ fallback: String) -> String { named[name] ?? fallback }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var brokers: String { environment["HPF_KAFKA_BROKERS"] ?? "127.0.0.1:9092" }
}

struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
