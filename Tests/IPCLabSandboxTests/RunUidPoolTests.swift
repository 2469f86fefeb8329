import Testing
@testable import IPCLabSandbox

/// A run takes three consecutive host ids (its root, and its ids 1 and 2): blocks never overlap.
@Suite("RunUidPool")
struct RunUidPoolTests {
    @Test("runs get blocks of three ids, from the base, until the range is used up")
    func blocks() {
        var pool = RunUidPool(base: 3_000_000_000, count: 10)
        #expect(pool.freeCount == 3)
        #expect(pool.take() == 3_000_000_000)
        #expect(pool.take() == 3_000_000_003)
        #expect(pool.take() == 3_000_000_006)
        #expect(pool.take() == nil, "ids 3_000_000_009 + 1 and + 2 are outside the range")
        pool.assign(3_000_000_003, to: 42)
        pool.release(pid: 42)
        #expect(pool.take() == 3_000_000_003)
    }
}
