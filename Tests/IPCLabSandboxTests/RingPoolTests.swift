import CIPCLab
import Glibc
import IPCLabCore
import Testing

@testable import IPCLabSandbox

/// Event rings are kept between runs (``RingPool``): a ring taken again must hold nothing of the run before.
@Suite("Ring pool", .serialized)
struct RingPoolTests {
    /// Every byte of `ring`'s file equals the same byte of `fresh`'s. Read with pread, not through the
    /// mapping: a read fault on a shared memfd allocates the page, which would turn every hole into data
    /// and hide whether the wipe finds the pages a run wrote (SEEK_DATA) among holes.
    private static func sameBytes(_ ring: EventRing, _ fresh: EventRing) -> Bool {
        func bytes(_ r: EventRing) -> [UInt8] {
            var out = [UInt8](repeating: 0xee, count: r.size)
            let n = out.withUnsafeMutableBytes { pread(r.fd, $0.baseAddress, r.size, 0) }
            return n == r.size ? out : []
        }
        let a = bytes(ring)
        return ring.size == fresh.size && !a.isEmpty && a == bytes(fresh)
    }

    @Test("a ring given back after its run scribbled over every byte (header, records, plan) comes back as a new one, byte for byte")
    func wipedOnReuse() throws {
        let pool = RingPool(limit: 2)
        let ring = try pool.take(capacity: 2048, planCapacity: 5000)
        ring.writePlan(Array(repeating: 0x7b, count: 4000))
        ring.writeLimits(ipclab_run_limits(wall_ms: 1, cpu_ms: 2, memory_bytes: 3, processes: 4, open_files: 5, file_bytes: 6))
        // What a hostile run can do: any byte of its mapping, the last partial page included.
        memset(ring.base, 0xa5, ring.size)
        pool.give(ring)
        #expect(pool.count == 1)
        let again = try pool.take(capacity: 2048, planCapacity: 5000)
        #expect(again === ring, "the ring was not reused")
        #expect(pool.reused.load(ordering: .relaxed) == 1)
        let fresh = try EventRing(capacity: 2048, planCapacity: 5000)
        #expect(Self.sameBytes(again, fresh), "the reused ring still holds bytes of the run before")
        #expect(again.planLength == 0 && again.released == 0 && again.limits.wall_ms == 0)
        // Its header reads as intact, and no record is claimed.
        #expect(again.readHeader().corruption == nil)
        #expect(again.count == 0)
        guard case .unpublished = again.copyRecord(0, scenario: Scenario(channels: [], processes: [])) else {
            Issue.record("record 0 of the reused ring reads as published")
            return
        }
        // Bytes scattered between holes (pages never touched): each is found and zeroed.
        for offset in [0, 3 * 4096 + 17, again.size / 2, again.size - 1] { (again.base + offset).storeBytes(of: 0x5a, as: UInt8.self) }
        pool.give(again)
        let third = try pool.take(capacity: 2048, planCapacity: 5000)
        #expect(third === ring)
        #expect(Self.sameBytes(third, fresh), "a scattered byte of the run before survived")
        // A small range (zeroed in place) and a large one (past what is zeroed in place: punched).
        memset(third.base, 0x11, 40_000)
        memset(third.base + 200_000, 0x22, 150_000)
        pool.give(third)
        let fourth = try pool.take(capacity: 2048, planCapacity: 5000)
        #expect(fourth === ring)
        #expect(Self.sameBytes(fourth, fresh), "bytes of the run before survived a mixed wipe")
    }

    @Test("a ring's size is sealed (no holder of its descriptor can shrink or grow it); rings of another shape are not handed out; at most `limit` are kept")
    func sealedAndShapes() throws {
        let pool = RingPool(limit: 2)
        let sealed = try pool.take(capacity: 1024, planCapacity: 100)
        #expect(ftruncate(sealed.fd, off_t(sealed.size + 4096)) == -1 && errno == EPERM)
        #expect(ftruncate(sealed.fd, 4096) == -1 && errno == EPERM)
        pool.give(sealed)
        #expect(pool.count == 1)
        #expect(try pool.take(capacity: 1024, planCapacity: 100) === sealed)

        let a = try pool.take(capacity: 1024, planCapacity: 100)
        pool.give(a)
        #expect(try pool.take(capacity: 1024, planCapacity: 101) !== a)
        #expect(try pool.take(capacity: 1025, planCapacity: 100) !== a)
        #expect(pool.count == 1)
        let b = try EventRing(capacity: 1024, planCapacity: 100), c = try EventRing(capacity: 1024, planCapacity: 100)
        pool.give(b)
        pool.give(c)
        #expect(pool.count == 2)
        // The oldest (a) was dropped: the newest given back comes first.
        #expect(try pool.take(capacity: 1024, planCapacity: 100) === c)
        #expect(try pool.take(capacity: 1024, planCapacity: 100) === b)
        #expect(pool.count == 0)
    }

    @Test("runs reuse the ring of the run before, and each trace holds only its own run's events")
    func runsReuseRings() async throws {
        // A runner of its own (its own pool, the shared spawner): other suites' runs go on meanwhile.
        let shared = try Lab.shared()
        let runner = LabRunner(spawner: shared.spawner, maxima: shared.maxima)
        let big = try RunRequest.decode(Array(RingReleaseTests.body.utf8))
        let first = try await offThePool { try runner.run(big) }
        #expect(first.run.outcome == .ok, "\(first.run.reason ?? "")")
        #expect(runner.rings.reused.load(ordering: .relaxed) == 0)
        let second = try await offThePool { try runner.run(big) }
        #expect(runner.rings.reused.load(ordering: .relaxed) == 1, "the second run made a new ring")
        #expect(second.run.outcome == .ok, "\(second.run.reason ?? "")")
        // The same calls by the same processes (their interleaving is the kernel's), no more.
        func calls(_ t: Trace) -> [String] { t.events.map { "\($0.process) \($0.call)" }.sorted() }
        #expect(calls(second) == calls(first))
        #expect(second.events.map(\.seq) == Array(1...second.events.count))
        #expect(second.run.recordsRejected == 0)
    }
}
