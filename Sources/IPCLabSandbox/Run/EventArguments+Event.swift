import CIPCLab
import IPCLabCore

extension EventArguments {
    /// The trace event a call or signal record stands for, numbered `seq`. The one place
    /// a record becomes an event: the trace and the live stream of a run agree by construction.
    func event(_ r: RawRecord, seq: Int) -> TraceEvent {
        let name = scenario.processes.indices.contains(r.process) ? scenario.processes[r.process].name : "init"
        // A message send returns 0, not a count, yet it moved its payload.
        let moved = Self.movesBytes.contains(r.call) && r.done && (r.result > 0 || (r.result == 0 && r.payloadLength > 0))
        return TraceEvent(
            seq: seq, tNs: r.tBegin, endNs: r.done ? r.tEnd : nil, process: name, pid: r.pid, step: r.step,
            call: r.call, args: describe(r), result: r.done ? r.result : nil,
            errno: r.done ? ErrnoName.of(r.err) : nil, canBlock: Self.blocking.contains(r.call),
            payload: moved ? Payload(bytes: r.payloadLength, preview: r.payload) : nil)
    }

    /// Whether a record is a trace event (a call, or a signal delivered to a handler).
    static func isEvent(_ r: RawRecord) -> Bool {
        r.kind == IPCLAB_REC_EVENT || r.kind == IPCLAB_REC_SIGNAL
    }
}
