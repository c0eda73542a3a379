import Logging
import Metrics
import Prometheus
import Synchronization

/// Process-wide logging and metrics, bootstrapped once (both systems allow a single bootstrap).
public enum Observability {
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapMetricsOnce: Void = {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }()

    private static let loggingBootstrapped = Mutex(false)

    private static func bootstrapLogging(json: Bool, level: Logger.Level) {
        guard
            loggingBootstrapped.withLock({ done in
                defer { done = true }; return !done
            })
        else { return }
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// For service processes: JSON logs and Prometheus metrics.
    public static func bootstrapProcess(config: ServiceConfig) {
        bootstrapLogging(json: config.jsonLogs, level: Logger.Level(rawValue: config.logLevel) ?? .info)
        bootstrapMetrics()
    }

    /// Metrics only (tests keep the default logger).
    public static func bootstrapMetrics() { _ = bootstrapMetricsOnce }

    /// The Prometheus text exposition of every metric in the process.
    public static func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
