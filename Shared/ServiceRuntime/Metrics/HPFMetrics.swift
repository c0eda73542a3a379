import Prometheus

/// Every metric the suite exports, in one place, each with its help text: the names follow
/// Prometheus conventions (`_total` for counters, `_seconds` for durations and ages) and are what
/// docker/grafana-dashboard.json and the operators' alerts read. Collectors are made once per
/// label set by the registry and cached there, so calling these again is cheap.
public enum HPFMetrics {
    static var registry: PrometheusCollectorRegistry { Observability.registry }

    static func name(_ subsystem: String, _ metric: String, _ unit: String?, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "hpf", subsystem: subsystem, metricName: metric, unitName: unit ?? "", helpText: help)
    }

    /// Request durations: 1 ms to 10 s.
    static let requestBuckets: [Duration] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000].map { .milliseconds($0) }

    // MARK: HTTP

    public static func httpRequests(service: String, method: String, route: String, status: Int) -> Counter {
        registry.makeCounter(
            descriptor: name("http", "requests", "total", "HTTP requests answered, by route template and status (errors included)"),
            labels: [("service", service), ("method", method), ("route", route), ("status", "\(status)")])
    }

    public static func httpDuration(service: String, method: String, route: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: name("http", "request_duration", "seconds", "Time from a request's head to its answer, errors included"),
            labels: [("service", service), ("method", method), ("route", route)], buckets: requestBuckets)
    }

    // MARK: Outbox

    public static func outboxPublished(schema: String) -> Counter {
        registry.makeCounter(descriptor: name("outbox", "published", "total", "Outbox records the relay published to Kafka"), labels: [("schema", schema)])
    }

    public static func outboxPublishFailures(schema: String) -> Counter {
        registry.makeCounter(
            descriptor: name("outbox", "publish_failures", "total", "Relay rounds that failed to publish (retried)"), labels: [("schema", schema)])
    }

    public static func outboxOldestUnpublished(schema: String) -> Gauge {
        registry.makeGauge(
            descriptor: name("outbox", "oldest_unpublished", "seconds", "Age of the oldest outbox record not yet published (0 when none)"),
            labels: [("schema", schema)])
    }

    public static func outboxBacklog(schema: String) -> Gauge {
        registry.makeGauge(descriptor: name("outbox", "backlog", nil, "Outbox records not yet published"), labels: [("schema", schema)])
    }

    // MARK: Consumers

    public static func eventsProcessed(consumer: String) -> Counter {
        registry.makeCounter(
            descriptor: name("events", "processed", "total", "Events a consumer applied (inbox transaction committed)"),
            labels: [("consumer", consumer)])
    }

    public static func eventsDuplicate(consumer: String) -> Counter {
        registry.makeCounter(
            descriptor: name("events", "duplicate", "total", "Events a consumer had seen already (at-least-once delivery)"),
            labels: [("consumer", consumer)])
    }

    public static func eventsDeadLettered(consumer: String, reason: String) -> Counter {
        registry.makeCounter(
            descriptor: name("events", "dead_lettered", "total", "Events a consumer sent to the dead-letter topic, by reason"),
            labels: [("consumer", consumer), ("reason", reason)])
    }

    public static func handlerDuration(consumer: String, type: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: name("event_handler", "duration", "seconds", "Time to apply one event, inbox transaction included"),
            labels: [("consumer", consumer), ("type", type)], buckets: requestBuckets)
    }

    /// `kind` is `transient` (the database away: the partition waits) or `failure` (an unexpected error, retried five times).
    public static func handlerRetries(consumer: String, kind: String) -> Counter {
        registry.makeCounter(
            descriptor: name("event_handler", "retries", "total", "Retries of an event's handling, by kind (transient, failure)"),
            labels: [("consumer", consumer), ("kind", kind)])
    }

    /// Polls that could not be applied in one transaction and went one message at a time.
    public static func batchFallbacks(consumer: String) -> Counter {
        registry.makeCounter(
            descriptor: name("consumer", "batch_fallbacks", "total", "Polls applied one message at a time instead of in one transaction"),
            labels: [("consumer", consumer)])
    }

    // MARK: Deposits

    /// Deposit groups applied (`DepositGroups`), each in one transaction: the deposits answered
    /// over this is the mean group size.
    public static func depositGroups() -> Counter {
        registry.makeCounter(descriptor: name("deposit", "groups", "total", "Deposit groups applied, each in one transaction"), labels: [])
    }

    public static func depositGroupFallbacks() -> Counter {
        registry.makeCounter(
            descriptor: name("deposit", "group_fallbacks", "total", "Deposit groups that could not commit together and went one deposit at a time"),
            labels: [])
    }

    public static func consumerLag(consumer: String, topic: String, partition: Int32) -> Gauge {
        registry.makeGauge(
            descriptor: name("consumer", "lag", nil, "Records between a consumer's position and the partition's end"),
            labels: [("consumer", consumer), ("topic", topic), ("partition", "\(partition)")])
    }

    // MARK: Jobs and build

    public static func jobLastSuccess(service: String, job: String) -> Gauge {
        registry.makeGauge(
            descriptor: name("job", "last_success_timestamp", "seconds", "Unix time of a daily job's last successful run"),
            labels: [("service", service), ("daily_job", job)])
    }

    public static func buildInfo(service: String, version: String) -> Gauge {
        registry.makeGauge(
            descriptor: name("build", "info", nil, "Always 1: the running service and its version"),
            labels: [("service", service), ("version", version)])
    }
}
