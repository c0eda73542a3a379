import Foundation
import ServiceRuntime
import Testing

/// The published OpenAPI files name, for every operation, who may call it (`x-hpf-access`): that
/// must be exactly the `Access` the route enforces, and every route must be documented, so a
/// partner developer reading the contract is never told a route is open that is not, or
/// the reverse.
@Suite("Routes and their OpenAPI documents")
struct RouteDocumentTests {
    /// `METHOD /path/{param}` → the operation's `x-hpf-access`, read from the file's layout
    /// (paths at two spaces, methods at four, the extension at six).
    static func documented(service: String) throws -> [String: String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/openapi/\(service).yaml"), encoding: .utf8)
        var operations: [String: String] = [:]
        var path: String?, method: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
                method = nil
            } else if let m = ["get", "post", "put", "delete"].first(where: { line == "    \($0):" }) {
                method = m.uppercased()
            } else if line.hasPrefix("      x-hpf-access: "), let path, let method {
                let value = line.dropFirst("      x-hpf-access: ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                operations["\(method) \(path)"] = value
            } else if !line.hasPrefix(" "), !line.isEmpty {
                path = nil
            }
        }
        return operations
    }

    @Test("every route is in its service's OpenAPI file, with the access the route enforces")
    func accessDocumented() throws {
        var checked = 0
        var documents: [String: [String: String]] = [:]
        for (service, spec) in try AccessTests.routes() {
            let documented = try documents[service] ?? Self.documented(service: service)
            documents[service] = documented
            let path = spec.path.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            let key = "\(spec.method.rawValue) \(path)"
            // A note after the access in parentheses (how a setting changes it) is the reader's, not compared.
            let access = documented[key].map { $0.components(separatedBy: " (").first ?? $0 }
            #expect(access == spec.access.description, "\(service) \(key): documented \(documented[key] ?? "nothing"), enforced \(spec.access)")
            checked += 1
        }
        #expect(checked > 60)
    }
}
