import CIPCLab
import IPCLabCore

/// The flat plan (`CIPCLab/include/ipclab_plan.h`): a run's scenario, its steps already expanded, and
/// its schedule as the C runner (`ipclab-runner`) reads them from the ring, where the JSON plan
/// (``RunPlan``) goes for the Swift runner (docs/c-runner.md §4).
///
/// Written from the header's own structs (`MemoryLayout` of the imported C types), so the layout is
/// the C compiler's; the tests read it back by hand at the header's offsets. A scenario that uses
/// anything the C runner does not have yet has no flat plan (``Refusal``): the server then sends the
/// JSON plan to the Swift runner, as before.
enum FlatPlan {
    /// Why a scenario has no flat plan.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        /// A channel of a kind the C runner does not create yet.
        case channel(name: String, kind: String)
        /// A step of a family the C runner does not run yet (`index`: its position in its process).
        case step(process: String, index: Int, op: String)
        /// More processes, channels or steps than the header allows.
        case tooMany(String, count: Int, max: Int)
        /// The plan would be larger than ``maxBytes`` (distinct texts of loop iterations add up).
        case tooLarge(atLeast: Int)

        var description: String {
            switch self {
            case let .channel(name, kind): "channel \"\(name)\" is a \(kind), which the C runner does not create"
            case let .step(process, index, op): "step \(index) of \"\(process)\" is a \(op), which the C runner does not run"
            case let .tooMany(what, count, max): "\(count) \(what), more than the flat plan's \(max)"
            case let .tooLarge(bytes): "the flat plan would be at least \(bytes) bytes, more than \(FlatPlan.maxBytes)"
            }
        }
    }

    /// The largest flat plan the server writes. Without texts a valid scenario's plan is ~2.1 MiB at most
    /// (8 processes × 4,096 steps × 64 B); only texts that differ per loop iteration (`"data": "… {i}"`,
    /// up to 64 KiB each) can pass this, and such a scenario goes to the Swift runner with its JSON plan
    /// (a few KiB: the loop as written) instead of making every run's ring that large.
    static let maxBytes = 8 << 20

    /// The plan's bytes, or nil when the C runner cannot run `scenario` (see ``build(_:schedule:)``).
    static func compile(_ scenario: Scenario, schedule: RunSchedule?) -> [UInt8]? {
        try? build(scenario, schedule: schedule).get()
    }

    /// Whether `plan`, a flat plan, has a step that reads its process's own memory (`load_pointer`, a
    /// signal handler's `pointer`) with `process_vm_readv`: its init keeps that call open to the run
    /// (``SpawnMessage/filterAtGo``; the C runner asks the same of its copy, runner_plan.c). False for
    /// any other plan (the Swift runners' JSON ones).
    static func readsOwnMemory(_ plan: [UInt8]) -> Bool {
        plan.withUnsafeBytes { raw in
            guard raw.count >= MemoryLayout<ipclab_plan_header>.size else { return false }
            let header = raw.loadUnaligned(as: ipclab_plan_header.self)
            guard header.magic == IPCLAB_PLAN_MAGIC else { return false }
            let stride = MemoryLayout<ipclab_plan_step>.stride
            // Asked of every run's plan: two comparisons, no set built each time.
            let load = UInt16(IPCLAB_OP_LOAD_POINTER.rawValue), read = UInt16(IPCLAB_OP_READ_POINTER.rawValue)
            for i in 0..<Int(header.nsteps) {
                let at = Int(header.off_steps) + i * stride
                guard at + stride <= raw.count else { return false }
                let op = raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)
                if op == load || op == read { return true }
            }
            return false
        }
    }

    /// Whether the init of a run of `plan` with file limit `fileBytes` must install its last seccomp
    /// filter at go (``SpawnMessage/filterAtGo``): the plan reads its own memory, or its /tmp is resized
    /// from the size a ready init mounted it with.
    static func needsFilterAtGo(_ plan: [UInt8], fileBytes: Int64) -> Bool {
        readsOwnMemory(plan) || fileBytes != Int64(IPCLAB_READY_TMP_BYTES)
    }

    /// What a flat plan is compiled from: a cache of plans (``LabRunner``) keys on it.
    struct Source: Equatable, Sendable {
        var scenario: Scenario
        var schedule: RunSchedule?
    }

    /// The largest plan a ``RecentCache`` of plans keeps (a preset's is a few KiB).
    static let maxCachedBytes = 64 << 10

    /// ``compile(_:schedule:)`` from `cache` when the same scenario and schedule were compiled lately
    /// (plans larger than ``maxCachedBytes`` are not kept).
    static func compile(_ scenario: Scenario, schedule: RunSchedule?, cache: RecentCache<Source, [UInt8]?>) -> [UInt8]? {
        cache.value(for: Source(scenario: scenario, schedule: schedule), keeps: { ($0?.count ?? 0) <= maxCachedBytes }) {
            compile(scenario, schedule: schedule)
        }
    }

    /// The plan's bytes, or why there is none.
    static func build(_ scenario: Scenario, schedule: RunSchedule?) -> Result<[UInt8], Refusal> {
        do throws(Refusal) {
            var writer = Writer(scenario)
            return .success(try writer.bytes(schedule: schedule))
        } catch {
            return .failure(error)
        }
    }

    /// Assembles one plan: the sections as arrays of the header's structs, and the string pool.
    struct Writer {
        let scenario: Scenario
        var channels: [ipclab_plan_channel] = []
        var processes: [ipclab_plan_process] = []
        var steps: [ipclab_plan_step] = []
        var pool = StringPool()

        init(_ scenario: Scenario) {
            self.scenario = scenario
        }

        mutating func bytes(schedule: RunSchedule?) throws(Refusal) -> [UInt8] {
            try Self.check("processes", scenario.processes.count, Int(IPCLAB_PLAN_PROCESSES_MAX))
            try Self.check("channels", scenario.channels.count, Int(IPCLAB_PLAN_CHANNELS_MAX))
            let total = scenario.processes.reduce(0) { $0 + $1.steps.count }
            try Self.check("steps", total, Int(IPCLAB_PLAN_STEPS_MAX))
            let fixed = Self.offsets(channels: scenario.channels.count, processes: scenario.processes.count, steps: total).strings
            for channel in scenario.channels { channels.append(try compile(channel)) }
            steps.reserveCapacity(total)
            for process in scenario.processes {
                var p = ipclab_plan_process()
                p.name = pool.add(process.name)
                p.first_step = UInt32(steps.count)
                p.nsteps = UInt32(process.steps.count)
                for (i, step) in process.steps.enumerated() {
                    steps.append(try compile(step, process: process.name, index: i))
                    if fixed + pool.bytes.count > maxBytes { throw .tooLarge(atLeast: fixed + pool.bytes.count) }
                }
                processes.append(p)
            }
            if fixed + pool.bytes.count > maxBytes { throw .tooLarge(atLeast: fixed + pool.bytes.count) }
            return assemble(schedule: schedule)
        }

        private static func check(_ what: String, _ count: Int, _ max: Int) throws(Refusal) {
            if count > max { throw .tooMany(what, count: count, max: max) }
        }

        /// Where each section starts: every struct's size is a multiple of 8, so each section is 8-aligned.
        static func offsets(channels: Int, processes: Int, steps: Int) -> (channels: Int, processes: Int, steps: Int, strings: Int) {
            let c = MemoryLayout<ipclab_plan_header>.size
            let p = c + channels * MemoryLayout<ipclab_plan_channel>.stride
            let s = p + processes * MemoryLayout<ipclab_plan_process>.stride
            return (c, p, s, s + steps * MemoryLayout<ipclab_plan_step>.stride)
        }

        private func assemble(schedule: RunSchedule?) -> [UInt8] {
            let at = Self.offsets(channels: channels.count, processes: processes.count, steps: steps.count)
            var h = ipclab_plan_header()
            h.magic = IPCLAB_PLAN_MAGIC
            h.version = UInt16(IPCLAB_PLAN_VERSION)
            // A socket channel turns the init's deadlock watch off (a socket wait is not one it can judge).
            h.flags = scenario.channels.contains { if case .socket = $0.spec { true } else { false } } ? UInt16(IPCLAB_PLAN_HAS_SOCKET) : 0
            h.length = UInt32(at.strings + pool.bytes.count)
            h.nprocesses = UInt16(processes.count)
            h.nchannels = UInt16(channels.count)
            h.off_channels = UInt32(at.channels)
            h.off_processes = UInt32(at.processes)
            h.off_steps = UInt32(at.steps)
            h.nsteps = UInt32(steps.count)
            h.off_strings = UInt32(at.strings)
            h.strings_length = UInt32(pool.bytes.count)
            // As the JSON plan: a schedule that perturbs nothing is not sent (RunPlan.encode), and the
            // Swift participant without one neither sleeps nor pins.
            if let s = schedule, s.perturbs {
                h.seed = s.seed
                h.jitter_us = UInt32(s.jitterUs)
                h.cpus = UInt8(Self.cpus(s.cpus).rawValue)
            } else {
                h.cpus = UInt8(IPCLAB_PLAN_CPUS_ANY.rawValue)
            }
            var out: [UInt8] = []
            out.reserveCapacity(Int(h.length))
            withUnsafeBytes(of: &h) { out.append(contentsOf: $0) }
            channels.withUnsafeBytes { out.append(contentsOf: $0) }
            processes.withUnsafeBytes { out.append(contentsOf: $0) }
            steps.withUnsafeBytes { out.append(contentsOf: $0) }
            out.append(contentsOf: pool.bytes)
            return out
        }

        static func cpus(_ c: RunSchedule.CPUs) -> ipclab_plan_cpus {
            switch c {
            case .any: IPCLAB_PLAN_CPUS_ANY
            case .one: IPCLAB_PLAN_CPUS_ONE
            case .spread: IPCLAB_PLAN_CPUS_SPREAD
            }
        }

        private mutating func compile(_ channel: Channel) throws(Refusal) -> ipclab_plan_channel {
            var c = ipclab_plan_channel()
            c.name = pool.add(channel.name)
            switch channel.spec {
            case .pipe(.pipe):
                c.kind = UInt8(IPCLAB_PLAN_CHANNEL_PIPE.rawValue)
            case .pipe(.fifo(let path, let beforeFork)):
                c.kind = UInt8(IPCLAB_PLAN_CHANNEL_FIFO.rawValue)
                c.path = pool.add(path)
                c.flags = beforeFork ? UInt8(IPCLAB_PLAN_FIFO_BEFORE_FORK) : 0
            // shared memory and semaphores
            case .sharedMemory(let spec): try compile(sharedMemory: spec, into: &c, name: channel.name)
            case .semaphore(let spec): try compile(semaphore: spec, into: &c, name: channel.name)

            // message queues and sockets
            case .messageQueue(let q):
                compile(q, into: &c)
            case .socket(let spec):
                compile(spec, into: &c)
            }
            return c
        }

        /// Index of the channel named `name`, or 0 when none is: the Swift participant's `channelIndex`.
        func channelIndex(_ name: String) -> Int16 {
            Int16(scenario.channels.firstIndex { $0.name == name } ?? 0)
        }
    }

    /// The plan's strings, each once (by its bytes, not by Swift's `==`, which equates canonically
    /// equivalent texts of different bytes), each followed by a NUL.
    struct StringPool {
        private(set) var bytes: [UInt8] = []
        private var seen: [[UInt8]: ipclab_plan_str] = [:]
        /// Long texts by where their bytes are: a loop's iterations of one text (no `{…}` in it) share one
        /// string's storage, so each iteration after the first costs a lookup, not a copy and a hash of up
        /// to 64 KiB. Only long strings (kept on the heap, never inline), and only while the scenario holding
        /// them is alive (one ``Writer``'s life).
        private var stored: [Storage: ipclab_plan_str] = [:]

        struct Storage: Hashable {
            var address: UInt
            var count: Int
        }

        mutating func add(_ text: String) -> ipclab_plan_str {
            let storage: Storage? = text.utf8.count > 64
                ? text.utf8.withContiguousStorageIfAvailable { Storage(address: UInt(bitPattern: $0.baseAddress), count: $0.count) }
                : nil
            if let storage, let s = stored[storage] { return s }
            let utf8 = Array(text.utf8)
            let s: ipclab_plan_str
            if let known = seen[utf8] {
                s = known
            } else {
                s = ipclab_plan_str(offset: UInt32(bytes.count), length: UInt32(utf8.count))
                bytes.append(contentsOf: utf8)
                bytes.append(0)
                seen[utf8] = s
            }
            if let storage { stored[storage] = s }
            return s
        }
    }
}
