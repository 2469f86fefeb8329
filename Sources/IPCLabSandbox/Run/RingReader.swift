import CIPCLab
import IPCLabCore

/// Reads a run's ring while the run goes on, and hands out each trace event once, as soon
/// as it is complete: a call when it has returned, a signal delivery when it is recorded.
/// A call that never returned is handed out by the last read, ``read(final:)`` with
/// `final: true`, after the run, as the trace shows it (no result).
///
/// Records are published one by one (`state` stored with release order, every field final
/// before), so a record read as done never changes again; one still begun, or claimed and
/// not yet published, is looked at again on the next read. Events are numbered in the
/// order they are handed out: those `seq` numbers are provisional (the trace orders by start
/// time). Arguments are named exactly as ``TraceBuilder`` names them
/// (``EventArguments/event(_:seq:)``), with the process names known from the start records
/// read so far.
final class RingReader {
    private let ring: EventRing
    private let scenario: Scenario
    /// Records `0..<scanned` have been looked at at least once.
    private var scanned = 0
    /// Records looked at that were not complete yet (claimed, or begun and not returned).
    private var pending: [Int] = []
    /// Process names by pid, from the start records read so far.
    private var names: [Int32: String] = [:]
    /// Events handed out so far.
    private(set) var handedOut = 0
    /// A program run's: its processes are named as TraceBuilder names them (`name`, `name.1`…).
    private let programs: Bool
    /// Processes started so far, by program index (program runs).
    private var started: [Int: Int] = [:]
    /// A program run's pipes, named as they are met (as TraceBuilder names them, in its order).
    private var channels = ProgramChannels()

    init(ring: EventRing, scenario: Scenario, programs: Bool = false) {
        self.ring = ring
        self.scenario = scenario
        self.programs = programs
    }

    /// The events completed since the last read, ordered by the time each call started.
    /// With `final` (once every process of the run is gone) also the calls that never returned.
    func read(final: Bool = false) -> [TraceEvent] {
        let count = ring.count
        let candidates = pending + Array(scanned..<max(scanned, count))
        scanned = max(scanned, count)
        pending = []
        var ready: [RawRecord] = []
        var waiting: [Int] = []
        for index in candidates {
            let record: RawRecord
            switch ring.copyRecord(index, scenario: scenario) {
            case .record(let r):
                record = r
            case .unpublished:
                // Claimed, not yet published (or claimed by a process killed before it could).
                if !final { waiting.append(index) }
                continue
            case .rejected:
                // Out of range (the run overwrote it): never handed out; the trace counts it.
                continue
            }
            if record.kind == IPCLAB_REC_START, scenario.processes.indices.contains(record.process) {
                let name = scenario.processes[record.process].name
                if !programs {
                    names[record.pid] = name
                } else if names[record.pid] == nil {
                    let n = started[record.process, default: 0]
                    started[record.process] = n + 1
                    names[record.pid] = n == 0 ? name : "\(name).\(n)"
                }
            }
            // As the trace does: no output of a process the trace does not know (TraceBuilder.namedOutput).
            guard EventArguments.isEvent(record), !programs || TraceBuilder.namedOutput(record, names: names) else { continue }
            if record.done || final { ready.append(record) } else { waiting.append(index) }
        }
        pending = waiting
        guard !ready.isEmpty else { return [] }
        let arguments = EventArguments(scenario: scenario, processNames: names)
        return ready.sorted { ($0.tBegin, $0.index) < ($1.tBegin, $1.index) }.map { record in
            handedOut += 1
            var event = arguments.event(record, seq: handedOut)
            if programs { TraceBuilder.nameProgramEvent(&event, record: record, names: names, channels: &channels) }
            return event
        }
    }
}
