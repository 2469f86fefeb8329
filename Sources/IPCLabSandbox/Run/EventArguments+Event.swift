import CIPCLab
import IPCLabCore

extension EventArguments {
    /// The trace event a call or signal record stands for, numbered `seq`. The one place
    /// a record becomes an event: the trace and the live stream of a run agree by construction.
    func event(_ r: RawRecord, seq: Int) -> TraceEvent {
        let name = scenario.processes.indices.contains(r.process) ? scenario.processes[r.process].name : "init"
        let call = call(of: r)
        let spec = call?.spec
        // A message send returns 0, not a count, yet it moved its payload.
        let moved = spec?.moves != nil && r.done && (r.result > 0 || (r.result == 0 && r.payloadLength > 0))
        // A bench loop's failed call keeps its own name, and blocks if a call of that name can.
        let shown = call == .bench(.failed) || call == nil ? r.call : spec?.name ?? r.call
        let blocks = call == .bench(.failed) ? Call.all.contains { $0.name == r.call && $0.spec.blocks } : spec?.blocks ?? false
        var event = TraceEvent(
            seq: seq, tNs: r.tBegin, endNs: r.done ? r.tEnd : nil, process: name, pid: r.pid, step: r.step,
            call: shown, args: call.map { describe(r, as: $0) } ?? [], result: r.done ? r.result : nil,
            errno: r.done ? ErrnoName.of(r.err) : nil, canBlock: blocks,
            payload: moved ? Payload(bytes: r.payloadLength, preview: r.payload) : nil)
        // A step a loop made is named by where it is written and its iteration.
        if let i = r.step, scenario.processes.indices.contains(r.process),
           let origins = scenario.processes[r.process].loops?.origins, origins.indices.contains(i) {
            event.origin = origins[i]
        }
        return event
    }

    /// Whether a record is a trace event (a call, or a signal delivered to a handler).
    static func isEvent(_ r: RawRecord) -> Bool {
        r.kind == IPCLAB_REC_EVENT || r.kind == IPCLAB_REC_SIGNAL
    }
}
