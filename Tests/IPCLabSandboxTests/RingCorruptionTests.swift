import CIPCLab
import Foundation
import Glibc
import IPCLabCore
import Testing

@testable import IPCLabSandbox

/// Everything a run can write is hostile input: its event ring above all, which the server reads to
/// build the trace. These tests take the rings of real runs, corrupt copies of them (header and
/// records, seeded, so a failure can be replayed), and build traces from them through the same path the
/// server takes after a run (``LabRunner/trace(of:request:runID:startedAt:failure:)``, then the live
/// reader and the three renderings). A crash ends the test process: the test then fails.
@Suite("Ring corruption", .serialized)
struct RingCorruptionTests {
    /// Presets whose rings hold most kinds of record and most families' arguments.
    static let presets = ["pipe.byte_stream", "shm.race", "signal.sigqueue", "sem.mutex", "mq.posix",
                          "socket.socketpair", "signal.coalescing", "shm.sysv"]

    /// A small deterministic generator (SplitMix64): the same seed corrupts the same bytes.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let hostile: [Int64] = [0, -1, 1, .max, .min, 1 << 50, -(1 << 50), 1 << 31, 0x7fff_ffff, 0xffff_ffff,
                                   16_384, 16_640, -2, 4095, 1 << 62]

    /// The real runs' rings, once per test process.
    static func rings() throws -> [(request: RunRequest, ring: EventRing)] {
        try presets.map { id in
            let request = try RunRequest.preset(id, params: nil)
            let (trace, ring) = try Lab.shared().runKeepingRing(request)
            #expect(trace.run.outcome == .ok, "\(id): \(trace.run.reason ?? "")")
            return (request, ring)
        }
    }

    /// Builds everything the server builds from a ring, and checks what must hold of any trace.
    static func build(_ ring: EventRing, _ request: RunRequest) throws -> Trace {
        let trace = LabRunner.trace(of: ring, request: request, runID: "0", startedAt: "2026-01-01T00:00:00.000Z", failure: nil)
        let reader = RingReader(ring: ring, scenario: request.scenario)
        let live = reader.read() + reader.read(final: true)
        #expect(live.count <= trace.events.count + trace.run.recordsRejected + ring.count)
        _ = try JSONValue.parse(trace.json())
        _ = try JSONValue.parse(trace.chromeJSON())
        _ = trace.text()
        let names = Set(request.scenario.processes.map(\.name) + ["init"])
        for e in trace.events + live {
            #expect(names.contains(e.process), "event of an unknown process \(e.process)")
            if let step = e.step, let p = request.scenario.processIndex(named: e.process) {
                #expect(request.scenario.processes[p].steps.indices.contains(step))
            }
            #expect(e.tNs >= 0 && (e.endNs ?? e.tNs) >= e.tNs)
        }
        return trace
    }

    /// Rewrites one field of a record with a value a recorder could have written (a call name, process,
    /// step, state, result or argument seen elsewhere, or a hostile argument), so it stays in range.
    static func forge(_ r: UnsafeMutablePointer<ipclab_record>, like ring: EventRing, _ scenario: Scenario, _ rng: inout SplitMix) {
        let other = ring.record(rng.below(max(ring.count, 1))).pointee
        switch rng.below(7) {
        case 0: r.pointee.call = other.call
        case 1: r.pointee.process = Int16(rng.below(scenario.processes.count + 1) - 1)
        case 2: r.pointee.step = -1
        case 3: r.pointee.state = UInt32(rng.below(2) + 1)
        case 4: r.pointee.result = [-1, 0, 1, 8, 4096, 1 << 40][rng.below(6)]
        case 5: r.pointee.kind = UInt16(rng.below(7) + 1)
        default:
            withUnsafeMutableBytes(of: &r.pointee.args) { $0.storeBytes(of: hostile[rng.below(hostile.count)], toByteOffset: 8 * rng.below(8), as: Int64.self) }
        }
    }

    @Test("1,000 seeded corruptions of real runs' rings, header and records: every one gives a trace")
    func thousandCorruptions() throws {
        let originals = try Self.rings()
        // IPCLAB_RING_FUZZ_SEED replays (or explores) another sequence of corruptions.
        let seed = ProcessInfo.processInfo.environment["IPCLAB_RING_FUZZ_SEED"].flatMap { UInt64($0) } ?? 12
        var rng = SplitMix(state: seed)
        var headerErrors = 0, rejected = 0
        for n in 0..<1000 {
            let (request, original) = originals[n % originals.count]
            let ring = try EventRing(copyOf: original)
            let recordsStart = ipclab_ring_records_offset()
            let recordsEnd = recordsStart + max(ring.count, 1) * MemoryLayout<ipclab_record>.stride
            let header = rng.below(3) == 0
            let writes = 1 + rng.below(rng.below(4) == 0 ? 24 : 3)
            for _ in 0..<writes {
                let (low, high) = header ? (0, recordsStart) : (recordsStart, recordsEnd)
                switch rng.below(header ? 3 : 4) {
                case 3: // a forged record that passes every range check: the trace's consumers must cope
                    Self.forge(ring.record(rng.below(max(ring.count, 1))), like: ring, request.scenario, &rng)
                case 0: // random bytes
                    let at = low + rng.below(high - low)
                    for i in at..<min(high, at + 1 + rng.below(32)) {
                        (ring.base + i).storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), as: UInt8.self)
                    }
                case 1: // a hostile 64-bit word
                    let at = (low + rng.below(high - low - 8)) & ~7
                    (ring.base + at).storeBytes(of: Self.hostile[rng.below(Self.hostile.count)], as: Int64.self)
                default: // a hostile 32-bit word
                    let at = (low + rng.below(high - low - 4)) & ~3
                    (ring.base + at).storeBytes(of: Int32(truncatingIfNeeded: Self.hostile[rng.below(Self.hostile.count)]), as: Int32.self)
                }
            }
            let trace = try Self.build(ring, request)
            let owned = ring.readHeader().corruption
            if let owned {
                headerErrors += 1
                #expect(trace.run.outcome == .error, "seed \(seed), corruption \(n)")
                #expect(trace.run.reason == owned, "seed \(seed), corruption \(n)")
            }
            rejected += trace.run.recordsRejected
        }
        // The corruptions reached both halves of the checks (else this test tests nothing).
        #expect(headerErrors > 50)
        #expect(rejected > 50)
    }

    @Test("a header whose next, capacity or records offset was overwritten ends the run in error, naming the field")
    func headerFields() throws {
        let originals = try Self.rings()
        let (request, original) = originals[0]
        let cases: [(String, (UnsafeMutablePointer<ipclab_ring_header>) -> Void)] = [
            ("next=", { $0.pointee.next = 1 << 50 }),
            ("capacity=", { $0.pointee.capacity = .max }),
            ("records_offset=", { $0.pointee.records_offset = 1 << 30 }),
            ("plan_length=", { $0.pointee.plan_length = .max }),
            ("outcome=", { $0.pointee.outcome = 99 }),
            ("t_end=", { $0.pointee.t_end = .min }),
        ]
        for (field, corrupt) in cases {
            let ring = try EventRing(copyOf: original)
            corrupt(ring.header)
            let trace = try Self.build(ring, request)
            #expect(trace.run.outcome == .error)
            #expect(trace.run.reason?.hasPrefix("the event ring's header was overwritten: \(field)") == true, "\(trace.run.reason ?? "nil")")
        }
        // An intact copy reads as the run did.
        let trace = try Self.build(try EventRing(copyOf: original), request)
        #expect(trace.run.outcome == .ok && trace.run.recordsRejected == 0)
    }

    @Test("a record out of range is dropped and counted, the others kept")
    func recordOutOfRange() throws {
        let originals = try Self.rings()
        let (request, original) = originals[0]
        let intact = try Self.build(try EventRing(copyOf: original), request)
        // The first event record, by index: pointed at a process the scenario does not have.
        let ring = try EventRing(copyOf: original)
        let first = try #require((0..<ring.count).first { ring.record($0).pointee.kind == UInt16(IPCLAB_REC_EVENT.rawValue) })
        ring.record(first).pointee.process = 7
        let trace = try Self.build(ring, request)
        #expect(trace.run.recordsRejected == 1)
        #expect(trace.events.count == intact.events.count - 1)
        #expect(trace.json().count > 0)
        // A call name with no NUL in its 24 bytes, and a payload length past any buffer.
        let other = try EventRing(copyOf: original)
        withUnsafeMutableBytes(of: &other.record(first).pointee.call) { $0.initializeMemory(as: UInt8.self, repeating: 0x41) }
        other.record(first + 1).pointee.payload_len = .max
        let again = try Self.build(other, request)
        #expect(again.run.recordsRejected == 1)
        #expect(again.events.allSatisfy { ($0.payload?.preview.count ?? 0) <= Int(IPCLAB_PAYLOAD_MAX) })
    }
}
