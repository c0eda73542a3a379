import Foundation
import Logging
import PostgresNIO

/// A column that holds personal data sealed by `PersonalDataCipher`. `json`: a jsonb column
/// holding the sealed text as a JSON string (its clear form was a JSON document).
public struct SealedColumn: Sendable {
    public let table: String
    public let column: String
    /// The column naming the row (the additional data binds each value to it).
    public let rowKey: String
    public let json: Bool

    public init(table: String, column: String, rowKey: String, json: Bool = false) {
        self.table = table
        self.column = column
        self.rowKey = rowKey
        self.json = json
    }

    /// What a value of this column is bound to.
    public func context(_ row: String) -> String { "\(table).\(column):\(row)" }

    /// The column's stored text in SQL (a jsonb string's text, or a clear document's JSON).
    public var storedText: String { json ? "\(column) #>> '{}'" : column }
}

/// At start (`onlyClear`) it seals the values written before sealing existed, so a database
/// from an earlier version keeps working; as the re-encryption command it also re-seals what an
/// older key sealed.
///
/// Seals again every value of the service's sealed columns that is not sealed with the current
/// key: values sealed with an older key (after a rotation) and values written before sealing
/// existed. In batches, each row updated only if it still holds what was read, so it can run
/// beside the live service; run again until it reports nothing left.
public enum PersonalDataResealing {
    public struct Report: Sendable, CustomStringConvertible {
        public var resealed: [String: Int] = [:]
        public var total: Int { resealed.values.reduce(0, +) }
        public var description: String {
            resealed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    public static func run(
        columns: [SealedColumn], cipher: PersonalDataCipher, database: Database, logger: Logger,
        onlyClear: Bool = false, batchSize: Int = 500
    ) async throws -> Report {
        var report = Report()
        for column in columns {
            var after = ""
            var count = 0
            while true {
                let (last, resealed) = try await database.transaction { connection -> (String?, Int) in
                    var rows: [(String, String)] = []
                    for try await (row, stored) in try await connection.query(
                        """
                        SELECT \(unescaped: column.rowKey)::text, \(unescaped: column.storedText) FROM \(unescaped: column.table)
                        WHERE \(unescaped: column.rowKey)::text > \(after) AND \(unescaped: column.column) IS NOT NULL
                          AND (NOT \(onlyClear) OR \(unescaped: column.storedText) NOT LIKE 'pd1:%')
                        ORDER BY \(unescaped: column.rowKey)::text LIMIT \(batchSize)
                        """, logger: logger
                    ).decode((String, String).self) { rows.append((row, stored)) }
                    var resealed = 0
                    for (row, stored) in rows where cipher.needsResealing(stored) {
                        let sealed = try cipher.seal(try cipher.openOrLegacy(stored, context: column.context(row)), column, row: row)
                        // Only if the row still holds what was read (the live service may have changed it).
                        let (open, close) = column.json ? ("to_jsonb(", "::text)") : ("", "")
                        for try await _ in try await connection.query(
                            """
                            UPDATE \(unescaped: column.table) SET \(unescaped: column.column) = \(unescaped: open)\(sealed)\(unescaped: close)
                            WHERE \(unescaped: column.rowKey)::text = \(row) AND \(unescaped: column.storedText) = \(stored)
                            RETURNING 1
                            """, logger: logger)
                        { resealed += 1 }
                    }
                    return (rows.last?.0, resealed)
                }
                count += resealed
                guard let last else { break }
                after = last
            }
            report.resealed["\(column.table).\(column.column)"] = count
        }
        return report
    }
}

public extension HPFServiceModule {
    /// `<service> reseal-personal-data`: the re-encryption command for a key rotation. Add the
    /// new key to HPF_DATA_KEYS, make it HPF_DATA_KEY_ID, restart the services, run this, and
    /// drop the old key once it reports nothing left to reseal. Exit 0 when done, 1 on failure.
    static func resealPersonalData(config: ServiceConfig) async -> Int32 {
        do {
            let runtime = try ServiceRuntime(descriptor: descriptor, config: config)
            // The schema as this version expects it (a no-op when the service already migrated it).
            try await Migrator.migrate(config: config, descriptor: descriptor, logger: runtime.logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await runtime.database.client.run() }
                defer { group.cancelAll() }
                let report = try await PersonalDataResealing.run(
                    columns: descriptor.sealedColumns, cipher: runtime.personalData,
                    database: runtime.database, logger: runtime.logger)
                print("hpf-\(descriptor.name): resealed with data key \(runtime.personalData.currentKeyId): \(report.total) values (\(report))")
                return 0
            }
        } catch {
            FileHandle.standardError.write(Data("hpf-\(descriptor.name): reseal-personal-data failed: \(String(reflecting: error))\n".utf8))
            return 1
        }
    }
}
