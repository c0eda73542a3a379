import ServiceRuntime
import Synchronization
import Testing

/// `GroupCommit` on its own (no database): how groups form, and what a cancelled caller gets.
@Suite("Group commit")
struct GroupCommitTests {
    /// The sizes of the groups applied, in order.
    final class Sizes: Sendable {
        private let sizes = Mutex<[Int]>([])
        func add(_ size: Int) { sizes.withLock { $0.append(size) } }
        var all: [Int] { sizes.withLock { $0 } }
    }

    /// A group commit whose groups double their inputs once `gate` opens, recording each group's size.
    static func doubling(_ gate: StartupGate, sizes: Sizes) -> GroupCommit<Int, Int> {
        GroupCommit(limit: 10, concurrency: 1) { inputs in
            sizes.add(inputs.count)
            _ = await gate.wait()
            return inputs.map { .success($0 * 2) }
        }
    }

    @Test("requests that arrive while a group is written form the next group, each answered with its own result")
    func groupsForm() async throws {
        let gate = StartupGate()
        let sizes = Sizes()
        let commit = Self.doubling(gate, sizes: sizes)
        let first = Task { try await commit.submit(1) }
        #expect(try await TestStack.eventually { sizes.all == [1] })
        let rest = (2...6).map { n in Task { try await commit.submit(n) } }
        #expect(try await TestStack.eventually { commit.waiting == 5 })
        await gate.open()
        // Bounded: a lost answer fails the test instead of hanging it.
        #expect(try await withDeadline(seconds: 30) { try await first.value } == 2)
        var answers: [Int] = []
        for task in rest { answers.append(try await withDeadline(seconds: 30) { try await task.value }) }
        #expect(answers == [4, 6, 8, 10, 12])
        #expect(sizes.all == [1, 5])
        #expect(commit.groupsApplied == 2)
    }

    @Test("a cancelled caller stops waiting at once; its request stays in its group")
    func cancelledCaller() async throws {
        let gate = StartupGate()
        let sizes = Sizes()
        let commit = Self.doubling(gate, sizes: sizes)
        let first = Task { try await commit.submit(1) }
        #expect(try await TestStack.eventually { sizes.all == [1] })
        let second = Task { try await commit.submit(2) }
        #expect(try await TestStack.eventually { commit.waiting == 1 })
        second.cancel()
        // Answered while the group before it still holds the gate (bounded, so that a caller
        // left waiting fails the test instead of hanging it).
        do {
            let answer = try await withDeadline(seconds: 30) { try await second.value }
            Issue.record("a cancelled caller was answered \(answer)")
        } catch is CancellationError {
        } catch {
            Issue.record("a cancelled caller was still waiting: \(error)")
        }
        await gate.open()
        #expect(try await withDeadline(seconds: 30) { try await first.value } == 2)
        #expect(try await TestStack.eventually { sizes.all == [1, 1] }, "the cancelled request was still applied")
    }
}
