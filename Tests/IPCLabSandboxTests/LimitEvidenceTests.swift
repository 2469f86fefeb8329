import CIPCLab
import IPCLabCore
import Testing

@testable import IPCLabSandbox

/// Issue 15: the outcome `limit_exceeded` only when a run limit really fired.
@Suite("Limit evidence")
struct LimitEvidenceTests {
    private func event(_ call: String, errno: String) -> TraceEvent {
        TraceEvent(seq: 1, tNs: 1, endNs: 2, process: "p", pid: 2, step: 0, call: call, args: [], result: -1,
                   errno: errno, canBlock: false, payload: nil)
    }

    @Test("mq_open's EMFILE (RLIMIT_MSGQUEUE, shared by every run) is not the run's open_files limit; open's is")
    func mqOpenEMFILE() {
        let header = Self.header(dropped: 0)
        let none = TraceBuilder.limitReasons(header: header, capacity: Self.capacity, limits: .defaults, processes: [], events: [event("mq_open", errno: "EMFILE")])
        #expect(none.isEmpty, "\(none)")
        let fired = TraceBuilder.limitReasons(header: header, capacity: Self.capacity, limits: .defaults, processes: [], events: [event("open", errno: "EMFILE")])
        #expect(fired.count == 1 && fired[0].hasPrefix("limit open_files"), "\(fired)")
    }

    @Test("dropped records are the events limit firing")
    func dropped() {
        let header = Self.header(dropped: 12)
        let reasons = TraceBuilder.limitReasons(header: header, capacity: Self.capacity, limits: .defaults, processes: [], events: [])
        #expect(reasons.count == 1 && reasons[0].hasPrefix("limit events"), "\(reasons)")
    }

    static let capacity = 16_384 + UInt32(IPCLAB_INIT_RESERVE)

    /// A checked header as the server reads it (the ring's header is now read into ``RingHeader``).
    static func header(dropped: Int) -> RingHeader {
        RingHeader(claimed: 0, dropped: dropped, tEnd: nil, outcome: ipclab_outcome(0), failedErrno: 0, failure: "",
                   evidence: ipclab_run_evidence(), corruption: nil)
    }
}
