import Foundation
import Testing

@testable import IPCLabSandbox

/// A run's `started_at` is written without Foundation's formatter: it must read exactly as that formatter wrote it.
@Suite("Run start time")
struct StartTimeTests {
    static func foundation(_ seconds: Int, _ milliseconds: Int) -> String {
        Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1000 + 0.0001)
            .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    @Test("the same text as Foundation's ISO 8601 style with milliseconds, UTC",
          arguments: [(0, 0), (1_796_534_962, 912), (951_782_400, 5), (1_709_164_799, 999), (4_102_444_800, 70), (1_000_000_000, 100)])
    func sameAsFoundation(_ instant: (Int, Int)) {
        #expect(LabRunner.rfc3339(seconds: instant.0, milliseconds: instant.1) == Self.foundation(instant.0, instant.1))
    }

    @Test("now is now: within a second of Foundation's clock, in the same shape")
    func now() throws {
        let text = LabRunner.rfc3339Now()
        #expect(text.count == 24 && text.hasSuffix("Z"))
        let parsed = try #require(try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
        #expect(abs(parsed.timeIntervalSinceNow) < 5)
    }

    @Test("a run's id is its two random halves as 16 lower-case hex digits each, zero-padded",
          arguments: [(UInt64(0), UInt64(0)), (UInt64(1), UInt64(0xabc)), (UInt64.max, UInt64(0x0123_4567_89ab_cdef)),
                      (UInt64(0xf000_0000_0000_0000), UInt64(15))] as [(UInt64, UInt64)])
    func traceID(_ halves: (UInt64, UInt64)) {
        func padded(_ n: UInt64) -> String { let s = String(n, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }
        #expect(LabRunner.traceID(halves.0, halves.1) == padded(halves.0) + padded(halves.1))
        let id = LabRunner.newTraceID()
        #expect(id.count == 32 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } && id != LabRunner.newTraceID())
    }
}
