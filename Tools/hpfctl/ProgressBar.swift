import Foundation

/// A progress line for long commands (rebuilds, benchmark phases, seeding): done of total, the
/// rate over the last few seconds and the time left at that rate. On a terminal it redraws one
/// line on standard error; elsewhere (a log, a test) it writes a plain line at most every five
/// seconds, so that the output stays readable. Standard output keeps only the results. Safe to
/// update from concurrent tasks (a benchmark's clients).
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let label: String
    private let unit: String
    private let interactive: Bool
    private let started = Date()
    private var lastDrawn = Date.distantPast
    private var samples: [(at: Date, done: Int64)] = []
    private var drewLine = false

    init(_ label: String, unit: String) {
        self.label = label
        self.unit = unit
        interactive = isatty(STDERR_FILENO) == 1
    }

    /// Shows `done` of `total` (an unknown or zero total shows the count and rate alone).
    func update(_ done: Int64, of total: Int64, force: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        // Called per request by the benchmarks: nothing but this check unless a line is due.
        guard force || now.timeIntervalSince(lastDrawn) >= (interactive ? 0.2 : 5) else { return }
        samples.append((now, done))
        // The rate is over the last five seconds (at least two samples).
        while samples.count > 2, let first = samples.first, now.timeIntervalSince(first.at) > 5 { samples.removeFirst() }
        lastDrawn = now
        let line = Self.line(label: label, unit: unit, done: done, total: total, rate: rate(now), width: 30)
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
            drewLine = true
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Ends the line with the total time.
    func finish(_ done: Int64, of total: Int64, note: String = "") {
        lock.lock(); defer { lock.unlock() }
        let elapsed = Date().timeIntervalSince(started)
        let line =
            Self.line(label: label, unit: unit, done: done, total: max(total, done), rate: elapsed > 0 ? Double(done) / elapsed : nil, width: 30)
            + " in \(Self.duration(elapsed))" + (note.isEmpty ? "" : " \(note)")
        FileHandle.standardError.write(Data(((interactive && drewLine ? "\r\u{1B}[2K" : "") + line + "\n").utf8))
    }

    private func rate(_ now: Date) -> Double? {
        guard let first = samples.first, let last = samples.last, last.at.timeIntervalSince(first.at) > 0.5 else { return nil }
        return Double(last.done - first.done) / last.at.timeIntervalSince(first.at)
    }

    /// `label [#######-------]  1,234/5,000 events  57 %  412/s  ETA 9s`
    static func line(label: String, unit: String, done: Int64, total: Int64, rate: Double?, width: Int) -> String {
        var parts = [label]
        if total > 0 {
            let fraction = min(1, max(0, Double(done) / Double(total)))
            let filled = Int((fraction * Double(width)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]")
            parts.append("\(grouped(done))/\(grouped(total)) \(unit)")
            parts.append("\(Int((fraction * 100).rounded(.down))) %")
        } else {
            parts.append("\(grouped(done)) \(unit)")
        }
        if let rate, rate.isFinite, rate >= 0 {
            parts.append("\(grouped(Int64(rate.rounded())))/s")
            if total > done, rate > 0 { parts.append("ETA " + duration(Double(total - done) / rate)) }
        }
        return parts.joined(separator: "  ")
    }

    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 1e9 else { return "?" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return seconds < 10 ? String(format: "%.1fs", seconds) : "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(String(format: "%02d", whole % 60))s" }
        return "\(whole / 3600)h\(String(format: "%02d", whole / 60 % 60))m"
    }
}
