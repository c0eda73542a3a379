/// The suite's release, shown in `hpf_build_info` and the start-up settings line. Raised with
/// each release; the six services are released together.
public enum SuiteVersion {
    public static let current = "0.12.0"
}
