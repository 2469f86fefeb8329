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
}
