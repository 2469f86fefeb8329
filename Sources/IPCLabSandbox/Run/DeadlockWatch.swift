import CIPCLab
import Glibc
import IPCLabCore

/// Finds, from inside a run's init, the moment every live process of the run is blocked in a call
/// that no live process can complete, so the run can end at once instead of at its wall limit.
///
/// It declares a deadlock only on what it sees, and only when nothing else could wake anyone:
/// - every participant has started (its pid is published) and is either gone (no `/proc` entry, or
///   a zombie) or sleeping (`S` in `/proc/PID/stat`) inside a recorded call that waits with no
///   timeout for another process of the run: a pipe or FIFO `read`/`write`/`open`, `sem_wait`/`semop`,
///   `wait4`, `msgrcv`/`msgsnd`, `mq_receive`/`mq_send`;
/// - at least one is so blocked, and nothing was recorded (the ring's count is unchanged) for
///   ``quietNs`` before the first look and until a second look ``confirmNs`` later sees the same.
/// Timed calls (sleeps, `wait_signals`), unrecorded waits (a schedule's jitter, a spin), sockets
/// (they can have timeouts) and calls it does not know make it say nothing: the wall limit stays
/// the backstop. A runnable process between its record and its call shows `R`, not `S`.
struct DeadlockWatch {
    /// Calls that wait, with no timeout, for another process of the run.
    static let waitingCalls: Set<String> = ["read", "write", "open", "openat", "sem_wait", "semop", "wait4", "waitpid",
                                            "msgrcv", "msgsnd", "mq_receive", "mq_send"]
    static let quietNs: Int64 = 20_000_000
    static let confirmNs: Int64 = 10_000_000
    /// How often the init looks while the run goes on.
    static let tickNs: Int64 = 10_000_000

    let base: UnsafeMutableRawPointer
    let participants: Int
    let enabled: Bool
    /// A program run's: its processes are found in `/proc`, not in the table of participants
    /// (DeadlockWatch+Programs.swift).
    var programs = false
    private var lastCount: UInt32 = .max
    private var quietSince: Int64 = 0
    private var candidate: [Int: UInt32]?
    private var candidateAt: Int64 = 0

    init(base: UnsafeMutableRawPointer, scenario: Scenario) {
        self.base = base
        participants = scenario.processes.count
        // Sockets may wait with timeouts (SO_RCVTIMEO) and through the network stack: not judged.
        enabled = !scenario.channels.contains { if case .socket = $0.spec { true } else { false } }
    }

    /// The blocked calls (process index → record index) once a deadlock is confirmed, else nil.
    mutating func check(now: Int64) -> [Int: UInt32]? {
        guard enabled else { return nil }
        let count = ipclab_ring_claimed(base, ipclab_recorder_capacity())
        if count != lastCount {
            lastCount = count
            quietSince = now
            candidate = nil
            return nil
        }
        guard now - quietSince >= Self.quietNs, let blocked = programs ? scanProgramProcesses() : scan() else {
            candidate = nil
            return nil
        }
        if let candidate, candidate == blocked, now - candidateAt >= Self.confirmNs, ipclab_ring_claimed(base, ipclab_recorder_capacity()) == count {
            return blocked
        }
        if candidate != blocked {
            candidate = blocked
            candidateAt = now
        }
        return nil
    }

    /// Every participant gone or blocked in a waiting call: those calls; else nil.
    private func scan() -> [Int: UInt32]? {
        // The processes first (a few small reads): a running one ends the look before the ring is read.
        var sleeping: [Int] = []
        for i in 0..<participants {
            let pid = ipclab_participant_pid(Int32(i))
            guard pid > 0 else { return nil }
            switch Self.state(of: pid) {
            case .gone: continue
            case .sleeping: sleeping.append(i)
            case .other: return nil
            }
        }
        guard !sleeping.isEmpty else { return nil }
        var open: [Int: UInt32] = [:]
        // The capacity the init bound (its own copy), never the header's: the run can write that.
        let count = ipclab_ring_claimed(base, ipclab_recorder_capacity())
        for i in 0..<count {
            let r = ipclab_ring_record(base, i)!
            guard ipclab_record_state(r) == UInt32(IPCLAB_STATE_BEGUN.rawValue),
                  r.pointee.kind == UInt16(IPCLAB_REC_EVENT.rawValue), r.pointee.process >= 0 else { continue }
            open[Int(r.pointee.process)] = i
        }
        var blocked: [Int: UInt32] = [:]
        for i in sleeping {
            guard let record = open[i], Self.waitingCalls.contains(Self.call(ipclab_ring_record(base, record)!)) else { return nil }
            blocked[i] = record
        }
        return blocked
    }

    static func call(_ r: UnsafeMutablePointer<ipclab_record>) -> String {
        withUnsafeBytes(of: r.pointee.call) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    enum ProcessState { case gone, sleeping, other }

    /// From `/proc/PID/stat`: gone (no entry, or a zombie), sleeping (`S`), or anything else
    /// (running, stopped, in disk sleep, or unreadable: then nothing is declared).
    static func state(of pid: pid_t) -> ProcessState {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT || errno == ESRCH ? .gone : .other }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { return errno == ESRCH ? .gone : .other }
        switch ProcStat.state(Array(buffer[0..<n])) {
        case UInt8(ascii: "S"): return .sleeping
        case UInt8(ascii: "Z"), UInt8(ascii: "X"): return .gone
        default: return .other
        }
    }
}
