import Configuration
import Foundation

/// Reads `HPF_*` settings through swift-configuration's environment provider, strictly: a value
/// that is set but does not parse, or lies outside its range, is a `ConfigurationError` naming
/// the variable (the service refuses to start), never silently replaced by the default. An empty
/// value counts as unset. Every value read is remembered for the start-up log, secrets as
/// `<redacted>`.
struct SettingsReader {
    private let reader: ConfigReader
    private let variables: [String: String]
    private(set) var problems: [ConfigurationError] = []
    /// Variable → effective value (secrets redacted), for the start-up log.
    private(set) var effective: [String: String] = [:]

    init(environment: [String: String]) {
        variables = environment.filter { $0.key.hasPrefix("HPF_") && !$0.value.isEmpty }
        reader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: variables))
    }

    /// `HPF_PG_MAX_CONNECTIONS` as the key `hpf.pg.max.connections`, which the environment
    /// provider maps back to the same variable.
    private static func key(_ variable: String) -> ConfigKey {
        ConfigKey(variable.lowercased().split(separator: "_").map(String.init))
    }

    func isSet(_ variable: String) -> Bool { variables[variable] != nil }

    private mutating func refuse(_ variable: String, _ reason: String) {
        problems.append(ConfigurationError(variable: variable, reason: reason))
    }

    private mutating func remember(_ variable: String, _ value: String, secret: Bool) {
        effective[variable] = secret ? "<redacted>" : value
    }

    /// Text, optional: nil when unset.
    mutating func text(_ variable: String, secret: Bool = false) -> String? {
        guard isSet(variable), let value = reader.string(forKey: Self.key(variable), isSecret: secret) else { return nil }
        remember(variable, value, secret: secret)
        return value
    }

    /// Text with a default; `allowed` restricts it to a few words.
    mutating func text(_ variable: String, default fallback: String, allowed: [String]? = nil) -> String {
        guard let value = text(variable) else {
            remember(variable, fallback, secret: false)
            return fallback
        }
        if let allowed, !allowed.contains(value) {
            refuse(variable, "must be one of \(allowed.joined(separator: ", ")), got \(value)")
            return fallback
        }
        return value
    }

    /// An integer within `range`.
    mutating func integer(_ variable: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        guard isSet(variable) else {
            remember(variable, "\(fallback)", secret: false)
            return fallback
        }
        do {
            let value = try reader.requiredInt(forKey: Self.key(variable))
            guard range.contains(value) else {
                refuse(variable, "must be an integer in \(range.lowerBound)...\(range.upperBound), got \(value)")
                return fallback
            }
            remember(variable, "\(value)", secret: false)
            return value
        } catch {
            refuse(variable, "must be an integer in \(range.lowerBound)...\(range.upperBound), got \(variables[variable] ?? "")")
            return fallback
        }
    }

    /// `true` or `false`.
    mutating func flag(_ variable: String, default fallback: Bool) -> Bool {
        text(variable, default: fallback ? "true" : "false", allowed: ["true", "false"]) == "true"
    }

    /// A value that `parse` accepts.
    mutating func parsed<T>(_ variable: String, _ expected: String, _ parse: (String) -> T?) -> T? {
        guard let text = text(variable) else { return nil }
        guard let value = parse(text) else {
            refuse(variable, "must be \(expected), got \(text)")
            return nil
        }
        return value
    }

    /// A database role's password: outside development required and not the development value
    /// (the role's own name); in development a missing one is that value, and named in `defaulted`.
    mutating func password(_ variable: String, role: String, development: Bool, defaulted: inout [String]) -> String {
        if let password = text(variable, secret: true) {
            if !development, password == role { refuse(variable, "is the development value (the role name)") }
            return password
        }
        if !development { refuse(variable, "is required outside development") }
        defaulted.append(variable)
        return role
    }

    /// Records a problem found by a check beyond parsing.
    mutating func problem(_ variable: String, _ reason: String) { refuse(variable, reason) }

    /// A list of keys (a JWKS, the event keys): it must parse, and outside development none of
    /// its keys may be a public development key. Problems are recorded against `variable`.
    mutating func checkKeys<Key>(
        _ variable: String, _ text: String, development: Bool, unreadable: String,
        parse: (String) throws -> [String: Key], isDevelopmentKey: (Key) -> Bool
    ) {
        do {
            let keys = try parse(text)
            if !development, let kid = keys.first(where: { isDevelopmentKey($0.value) })?.key {
                refuse(variable, "key \(kid) is a public development key")
            }
        } catch let error as ConfigurationError {
            refuse(error.variable, error.reason)
        } catch {
            refuse(variable, unreadable)
        }
    }
}
