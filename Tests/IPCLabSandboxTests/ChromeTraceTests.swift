import Foundation
import IPCLabCore
import Testing

/// The Chrome Trace Event export, checked against the format's rules on real runs.
@Suite("Chrome Trace Event export")
struct ChromeTraceTests {
    /// Parses the export and checks the Trace Event format: every event has a phase, a name,
    /// pid and tid; X slices a non-negative duration; every flow start has its end; M names.
    private func validate(_ trace: Trace) throws -> [[String: Any]] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(trace.chromeJSON())) as? [String: Any])
        let events = try #require(root["traceEvents"] as? [[String: Any]])
        for e in events {
            let ph = try #require(e["ph"] as? String)
            #expect(["M", "X", "i", "s", "f"].contains(ph))
            #expect(e["name"] is String && e["pid"] is Int && e["tid"] is Int)
            if ph != "M" { #expect((e["ts"] as? Double ?? (e["ts"] as? Int).map(Double.init)) != nil) }
            if ph == "X" { #expect(((e["dur"] as? Double) ?? Double(e["dur"] as? Int ?? -1)) >= 0) }
        }
        let starts = events.filter { $0["ph"] as? String == "s" }.compactMap { $0["id"] as? Int }
        let ends = events.filter { $0["ph"] as? String == "f" }.compactMap { $0["id"] as? Int }
        #expect(Set(starts) == Set(ends) && starts.count == ends.count)
        let named = events.filter { $0["ph"] as? String == "M" && $0["name"] as? String == "process_name" }.compactMap { $0["pid"] as? Int }
        #expect(Set(named) == Set(trace.processes.map { Int($0.pid) }))
        return events
    }

    @Test("byte_stream: one flow per (write, read) pair that shared bytes, adding up to the bytes moved")
    func byteStream() async throws {
        let trace = try await run("pipe.byte_stream")
        let events = try validate(trace)
        // Writes of 10,10,10,10 read as 5,15,15,5: 6 pairs share bytes, 40 bytes in all.
        #expect(trace.transfers.count == 6)
        #expect(trace.transfers.compactMap(\.bytes).reduce(0, +) == 40)
        #expect(events.filter { $0["ph"] as? String == "s" }.count == 6)
        #expect(events.filter { $0["ph"] as? String == "X" }.count == trace.events.count)
    }

    @Test("hello: one flow from the child's write to the parent's read")
    func hello() async throws {
        let trace = try await run("pipe.hello")
        _ = try validate(trace)
        let t = try #require(trace.transfers.first)
        #expect(trace.transfers.count == 1 && t.bytes == 6)
        #expect(trace.events.first { $0.seq == t.from }?.call == "write")
        #expect(trace.events.first { $0.seq == t.to }?.call == "read")
    }
}
