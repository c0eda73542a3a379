// swift-tools-version: 6.1
// The Lianyungang flexible-employment HPF suite: six services, shared modules, tools and tests.
import PackageDescription

/// Each service is a library (its logic, imported by tests) plus a thin executable.
let services: [(library: String, folder: String, executable: String)] = [
    ("Enrolment", "enrolment", "enrolment"),
    ("Contribution", "contribution", "contribution"),
    ("Subsidy", "subsidy", "subsidy"),
    ("Withdrawal", "withdrawal", "withdrawal"),
    ("Loan", "loan", "loan"),
    ("RegionalSync", "regional-sync", "regional-sync"),
]

let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let postgres = Target.Dependency.product(name: "PostgresNIO", package: "postgres-nio")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let configuration = Target.Dependency.product(name: "Configuration", package: "swift-configuration")
let instrumentation = Target.Dependency.product(name: "Instrumentation", package: "swift-distributed-tracing")

var targets: [Target] = [
    .systemLibrary(
        name: "CRdkafka", path: "Shared/CRdkafka", pkgConfig: "rdkafka",
        providers: [.apt(["librdkafka-dev"])]),
    .target(name: "Kafka", dependencies: ["CRdkafka", logging, lifecycle], path: "Shared/Kafka"),
    .target(name: "Policy", path: "Shared/Policy"),
    .target(name: "Contracts", dependencies: ["Policy"], path: "Shared/Contracts"),
    .target(
        name: "ServiceRuntime",
        dependencies: ["Kafka", "Contracts", "Policy", hummingbird, postgres, lifecycle, logging, metrics, prometheus, crypto, configuration, instrumentation],
        path: "Shared/ServiceRuntime"),
    // Plays partner cities over the partner feed (§17): for tests, `make run` and partner developers.
    .target(name: "PartnerCity", dependencies: ["Kafka", "Contracts", "Policy", "ServiceRuntime", crypto, logging], path: "Tools/partner-city"),
    .executableTarget(
        name: "hpfctl",
        dependencies: [
            "Kafka", "Contracts", "ServiceRuntime", "Policy", "Enrolment", "Contribution", "Subsidy", "Withdrawal", "Loan", "RegionalSync",
            "PartnerCity", crypto, postgres,
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        path: "Tools/hpfctl"),
    .testTarget(name: "PolicyTests", dependencies: ["Policy"], path: "Tests/PolicyTests"),
    .testTarget(name: "ContractsTests", dependencies: ["Contracts"], path: "Tests/ContractsTests", exclude: ["Golden"]),
    .testTarget(name: "KafkaTests", dependencies: ["Kafka"], path: "Tests/KafkaTests"),
    .testTarget(
        name: "ServiceTests",
        dependencies: [
            "ServiceRuntime", "Kafka", "Contracts", "Policy", "Enrolment", "Contribution",
            "Subsidy", "Withdrawal", "Loan", "RegionalSync", "PartnerCity", hummingbird, postgres, crypto, lifecycle,
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ],
        path: "Tests/ServiceTests"),
]
var products: [Product] = [.executable(name: "hpfctl", targets: ["hpfctl"])]
for service in services {
    targets.append(
        .target(
            name: service.library,
            dependencies: ["ServiceRuntime", "Contracts", "Policy", "Kafka", hummingbird, postgres, crypto],
            path: "Services/\(service.folder)/Sources"))
    targets.append(
        .executableTarget(
            name: "\(service.library)Main", dependencies: [.target(name: service.library), "ServiceRuntime"],
            path: "Services/\(service.folder)/Main"))
    products.append(.executable(name: service.executable, targets: ["\(service.library)Main"]))
}

let package = Package(
    name: "hpf-flex",
    platforms: [.macOS(.v15)],
    products: products,
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        // Already in the graph through Hummingbird; read settings with it (strict parsing, secrets).
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: []),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
