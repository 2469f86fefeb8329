import CIPCLab
import Foundation
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// The flat plan (ipclab_plan.h) the server writes for the C runner: the header's layout, a round trip
/// of every scenario it covers, nil (with the reason) for every other, and its size bound.
@Suite("Flat plan")
struct FlatPlanTests {
    /// The presets whose default scenario has a flat plan: e2e/test_c_runner.py runs exactly these on
    /// `--run-image c` (``e2eListsTheSamePresets()`` keeps the two lists the same).
    static let cPresets = [
        "fifo.rendezvous", "fifo.unrelated",
        "mq.boundaries", "mq.full", "mq.posix", "mq.sysv", "mq.sysv_full",
        "pipe.byte_stream", "pipe.capacity", "pipe.duplex", "pipe.eof",
        "pipe.hello", "pipe.inode", "pipe.nonblocking", "pipe.pipeline", "pipe.sigpipe",
        // signals, sandbox probes, measurements (csignals)
        "sandbox.denied_calls", "signal.blocked", "signal.coalescing", "signal.dispositions", "signal.fault",
        "signal.handshake", "signal.permissions", "signal.pointer", "signal.process_group", "signal.sigchld",
        "signal.sigint", "signal.sigqueue", "signal.stop_cont", "signal.unblockable",
        // shared memory and semaphores (cshm)
        "sem.fruit_plate", "sem.mutex", "sem.producer_consumer",
        "shm.anonymous", "shm.pointers", "shm.posix", "shm.private", "shm.race", "shm.sysv",
        "socket.buffer", "socket.fd_passing", "socket.nonblocking", "socket.socketpair", "socket.tcp", "socket.udp",
        "socket.unix_dgram", "socket.unix_stream",
        // message queues and signals together
        "mq.notify",
        // measurements over every mechanism (cbench)
        "bench.latency", "bench.throughput",
    ].sorted()

    /// The channel kinds the C runner creates: every kind there is.
    static let cChannelKinds: Set<String> = ["pipe", "fifo", "shared_memory", "semaphore", "message_queue", "tcp", "udp",
                                             "unix_stream", "unix_dgram", "socketpair"]

    static func presetScenario(_ preset: any Preset) -> Scenario {
        preset.scenario(.defaults(for: preset.experiment))
    }

    /// The scenario without what the plan does not carry (where loops put each step: the trace's business).
    static func expanded(_ s: Scenario) -> Scenario {
        Scenario(channels: s.channels, processes: s.processes.map { ProcessSpec(name: $0.name, steps: $0.steps.map(FlatPlanDecoder.carried)) })
    }

    static func roundTrip(_ scenario: Scenario, schedule: RunSchedule? = nil) throws -> FlatPlanDecoder.Plan {
        let bytes = try FlatPlan.build(scenario, schedule: schedule).get()
        let plan = try FlatPlanDecoder.decode(bytes)
        #expect(plan.scenario == expanded(scenario))
        // A socket channel turns the init's deadlock watch off (IPCLAB_PLAN_HAS_SOCKET); nothing else sets a flag.
        let socket = scenario.channels.contains { if case .socket = $0.spec { true } else { false } }
        #expect(plan.flags == (socket ? 1 : 0))
        return plan
    }

    @Test("The header's structs have the sizes and offsets its comment states (the decoder reads those)")
    func layout() {
        #expect(MemoryLayout<ipclab_plan_header>.size == 64)
        #expect(MemoryLayout<ipclab_plan_channel>.size == 56)
        #expect(MemoryLayout<ipclab_plan_process>.size == 16)
        #expect(MemoryLayout<ipclab_plan_step>.size == 64)
        let header: [(PartialKeyPath<ipclab_plan_header>, Int)] = [
            (\.magic, 0), (\.version, 4), (\.flags, 6), (\.length, 8), (\.nprocesses, 12), (\.nchannels, 14),
            (\.off_channels, 16), (\.off_processes, 20), (\.off_steps, 24), (\.nsteps, 28), (\.off_strings, 32),
            (\.strings_length, 36), (\.seed, 40), (\.jitter_us, 48), (\.cpus, 52), (\.reserved0, 53), (\.reserved1, 56),
        ]
        for (path, offset) in header { #expect(MemoryLayout<ipclab_plan_header>.offset(of: path) == offset, "\(path)") }
        let channel: [(PartialKeyPath<ipclab_plan_channel>, Int)] = [
            (\.kind, 0), (\.sub, 1), (\.flags, 2), (\.name, 8), (\.path, 16), (\.text, 24), (\.a, 32), (\.b, 40), (\.c, 48),
        ]
        for (path, offset) in channel { #expect(MemoryLayout<ipclab_plan_channel>.offset(of: path) == offset, "\(path)") }
        let process: [(PartialKeyPath<ipclab_plan_process>, Int)] = [(\.name, 0), (\.first_step, 8), (\.nsteps, 12)]
        for (path, offset) in process { #expect(MemoryLayout<ipclab_plan_process>.offset(of: path) == offset, "\(path)") }
        let step: [(PartialKeyPath<ipclab_plan_step>, Int)] = [
            (\.op, 0), (\.flags, 2), (\.channel, 4), (\.process, 6), (\.process2, 8), (\.end, 10), (\.sig, 12),
            (\.reserved, 16), (\.n, 24), (\.text, 56),
        ]
        for (path, offset) in step { #expect(MemoryLayout<ipclab_plan_step>.offset(of: path) == offset, "\(path)") }
        // The language's bounds fit the header's maxima, so only a plan's bytes can refuse a valid scenario.
        #expect(Scenario.Bounds.processes.upperBound <= Int(IPCLAB_PLAN_PROCESSES_MAX))
        #expect(Scenario.Bounds.channels.upperBound <= Int(IPCLAB_PLAN_CHANNELS_MAX))
        #expect(Scenario.Bounds.processes.upperBound * Scenario.Bounds.expandedSteps.upperBound <= Int(IPCLAB_PLAN_STEPS_MAX))
    }

    @Test("Every preset of the catalog: a plan that reads back as its scenario, or nil for another family")
    func everyPreset() throws {
        var compiled: [String] = []
        for preset in Catalog.standard.presets {
            let id = preset.experiment.id
            let scenario = Self.presetScenario(preset)
            switch FlatPlan.build(scenario, schedule: nil) {
            case .success:
                compiled.append(id)
                _ = try Self.roundTrip(scenario)
            case .failure(let refusal):
                #expect(FlatPlan.compile(scenario, schedule: nil) == nil)
                // The reason names something the scenario really has that is neither pipe/FIFO nor process.
                switch refusal {
                case let .channel(name, kind):
                    #expect(!Self.cChannelKinds.contains(kind), "\(id)")
                    #expect(scenario.channel(named: name)?.kind == kind, "\(id)")
                case let .step(process, index, op):
                    let step = try #require(scenario.processes.first { $0.name == process }?.steps[index], "\(id)")
                    #expect(step.op == op)
                    if case .process = step { Issue.record("\(id): a process step was refused") }
                    if case .pipe = step { Issue.record("\(id): a pipe step was refused") }
                    if case .send = step { Issue.record("\(id): a send step was refused") }
                    if case .messageQueue = step { Issue.record("\(id): a message-queue step was refused") }
                    if case .socket = step { Issue.record("\(id): a socket step was refused") }
                    if case .sharedMemory = step { Issue.record("\(id): a shared-memory step was refused") }
                    if case .semaphore = step { Issue.record("\(id): a semaphore step was refused") }
                    #expect(scenario.channels.allSatisfy { Self.cChannelKinds.contains($0.kind) }, "\(id): a channel would be refused first")
                default:
                    Issue.record("\(id): refused for \(refusal)")
                }
            }
        }
        #expect(compiled.sorted() == Self.cPresets)
    }

    @Test("A plan reads its own memory exactly when a step does: the presets with load_pointer or a pointer handler")
    func readsOwnMemory() throws {
        var reading: [String] = []
        for preset in Catalog.standard.presets {
            let scenario = Self.presetScenario(preset)
            guard let plan = FlatPlan.compile(scenario, schedule: nil) else { continue }
            if FlatPlan.readsOwnMemory(plan) { reading.append(preset.experiment.id) }
            // Cut short anywhere, a plan reads as one that does not (the server wrote it; nothing is read past its end).
            #expect(!FlatPlan.readsOwnMemory(Array(plan.prefix(MemoryLayout<ipclab_plan_header>.size - 1))))
        }
        #expect(reading.sorted() == ["shm.pointers", "signal.pointer"])
        // A JSON plan (the Swift runners') is no flat plan.
        let json = RunPlan.encode(Self.presetScenario(try #require(Catalog.standard.presets.first { $0.experiment.id == "shm.pointers" })),
                                  schedule: nil)
        #expect(!FlatPlan.readsOwnMemory(json))
    }

    @Test("A schedule goes in the header only when it perturbs the run, as in the JSON plan")
    func schedules() throws {
        let scenario = Self.presetScenario(try #require(Catalog.standard.preset("pipe.hello")))
        for schedule in [nil, RunSchedule(seed: 7, jitterUs: 0, cpus: .any)] {
            let plan = try Self.roundTrip(scenario, schedule: schedule)
            #expect(plan.seed == 0 && plan.jitterUs == 0 && plan.cpus == 0, "a schedule that perturbs nothing is not sent")
        }
        for (cpus, code) in [(RunSchedule.CPUs.any, UInt8(0)), (.one, 1), (.spread, 2)] {
            let plan = try Self.roundTrip(scenario, schedule: RunSchedule(seed: 1 << 53, jitterUs: 250, cpus: cpus))
            #expect(plan.seed == 1 << 53)
            #expect(plan.jitterUs == 250)
            #expect(plan.cpus == code)
        }
        let pinned = try Self.roundTrip(scenario, schedule: RunSchedule(seed: 3, jitterUs: 0, cpus: .spread))
        #expect(pinned.seed == 3 && pinned.jitterUs == 0 && pinned.cpus == 2)
    }

    /// Every op of both families, loops with `{i}` and `{k * 10}`, a FIFO made late.
    static let everyOp = """
        {"channels": [{"name": "p", "kind": "pipe"}, {"name": "f", "kind": "fifo", "path": "/tmp/ff", "before_fork": false},
                      {"name": "g", "kind": "fifo"}],
         "processes": [
          {"name": "parent", "steps": [
            {"op": "loop", "times": 3, "do": [{"op": "write", "channel": "p", "data": "item {i}", "repeat": 2},
                                               {"op": "write", "channel": "p", "data": "same"},
                                               {"op": "write", "channel": "p", "size": "{i + 1}"}]},
            {"op": "read", "channel": "p", "size": 7, "repeat": 3}, {"op": "read_all", "channel": "p"},
            {"op": "fill", "channel": "p", "size": 100}, {"op": "close", "channel": "p", "end": "write"},
            {"op": "fstat", "channel": "p", "end": "read"}, {"op": "set_nonblocking", "channel": "p", "end": "read", "enabled": false},
            {"op": "set_nonblocking", "channel": "p", "end": "write"},
            {"op": "set_pipe_size", "channel": "p", "size": 8192}, {"op": "get_pipe_size", "channel": "p"},
            {"op": "dup2", "channel": "p", "end": "read", "fd": 0},
            {"op": "mkfifo", "channel": "f"}, {"op": "open", "channel": "f", "end": "read", "nonblocking": true},
            {"op": "open", "channel": "g", "end": "write"},
            {"op": "sleep", "ms": 5}, {"op": "spin", "ms": 2}, {"op": "allocate", "bytes": 65536},
            {"op": "fork_children", "count": 3, "sleep_ms": 4}, {"op": "open_files", "count": 9},
            {"op": "write_file", "name": "out_1", "bytes": 1000}, {"op": "wait", "process": "child"},
            {"op": "wait", "process": "twin"}, {"op": "exit", "code": 3}]},
          {"name": "child", "steps": [{"op": "stage", "program": "random", "count": 100}, {"op": "stage", "program": "alnum"},
                                       {"op": "stage", "program": "take"}, {"op": "stage", "program": "take", "count": 5},
                                       {"op": "stage", "program": "random"}]},
          {"name": "twin", "steps": [{"op": "loop", "times": 2, "index": "k", "do": [{"op": "sleep", "ms": "{k * 10}"}]}]}]}
        """

    @Test("Every op of the process and pipe families, loops expanded, reads back field for field")
    func everyOpRoundTrips() throws {
        let scenario = try Scenario.decode(try JSONValue.parse(Array(Self.everyOp.utf8)))
        let plan = try Self.roundTrip(scenario)
        #expect(plan.scenario.processes[0].steps.count == 9 + 22)
        let bytes = try #require(FlatPlan.compile(scenario, schedule: nil))
        let decoder = FlatPlanDecoder(bytes: bytes)
        let waitTwin = Int(decoder.u32(24)) + 29 * 64
        #expect(decoder.u16(waitTwin) == 0x0102)
        #expect(decoder.i16(waitTwin + 6) == 2)
        // "same" is written three times but stored once; "item 0"…"item 2" once each.
        let pool = Array(bytes[Int(decoder.u32(32))...])
        #expect(pool.split(separator: 0).filter { $0.elementsEqual("same".utf8) }.count == 1)
        #expect(pool.split(separator: 0).filter { $0.starts(with: "item ".utf8) }.count == 3)
    }

    @Test("wait's target is the first process of its name, -1 for none; a channel of no such name is channel 0, as in Swift")
    func names() throws {
        // Built in code: the language refuses two processes of one name, and names that do not exist.
        let scenario = Scenario(channels: [.pipe("a"), .pipe("b")],
                                processes: [ProcessSpec(name: "p", steps: [.wait(process: "nobody"), .close(channel: "zzz", end: .read),
                                                                           .wait(process: "twin"), .close(channel: "b", end: .write)]),
                                            ProcessSpec(name: "twin", steps: []), ProcessSpec(name: "twin", steps: [])])
        let bytes = try #require(FlatPlan.compile(scenario, schedule: nil))
        let d = FlatPlanDecoder(bytes: bytes)
        let steps = Int(d.u32(24))
        #expect(d.i16(steps + 6) == -1)
        #expect(d.i16(steps + 64 + 4) == 0)
        #expect(d.i16(steps + 128 + 6) == 1)
        #expect(d.i16(steps + 192 + 4) == 1)
        #expect(d.i16(steps + 192 + 10) == 1)
    }

    @Test("Every preset has a flat plan; a step built in code that the C runner cannot run has none, and says which")
    func otherFamilies() throws {
        for preset in Catalog.standard.presets {
            #expect(FlatPlan.compile(Self.presetScenario(preset), schedule: nil) != nil, "\(preset.experiment.id)")
        }
        // Steps the language refuses (it would want a shared-memory sync channel, a channel of the mechanism's kind).
        let sync = Channel(name: "s", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: BenchStep.Bounds.syncBytes)))
        let bench = Scenario(channels: [.pipe("p"), sync], processes: [ProcessSpec(name: "a", steps: [
            .sleep(ms: 1), .benchSend(BenchStep.Transfer(mechanism: .pipe, channel: "p", sync: "p", totalBytes: 1, chunkBytes: 1)),
            .benchSend(BenchStep.Transfer(mechanism: .tcp, channel: "p", sync: "s", totalBytes: 1, chunkBytes: 1)),
        ])])
        #expect(FlatPlan.build(bench, schedule: nil) == .failure(.step(process: "a", index: 1, op: "bench_send")))
        var tcp = bench
        tcp.processes[0].steps.remove(at: 1)
        #expect(FlatPlan.build(tcp, schedule: nil) == .failure(.step(process: "a", index: 1, op: "bench_send")))
    }

    @Test("The largest plan a valid request can make without texts fits; texts that differ per iteration past the bound are refused")
    func bounds() throws {
        // 8 processes × 4,096 steps (loops), 16 FIFO channels with the longest names: ~2.1 MiB.
        let name = String(repeating: "n", count: 31)
        let channels = (0..<16).map { #"{"name": "\#(name)\#(Character(UnicodeScalar(UInt8(97 + $0))))", "kind": "fifo"}"# }
        let processes = (0..<8).map { k in
            #"{"name": "\#(name)\#(k)", "steps": [{"op": "loop", "times": 4096, "do": [{"op": "write_file", "name": "f", "bytes": 1}]}]}"#
        }
        let json = #"{"channels": [\#(channels.joined(separator: ","))], "processes": [\#(processes.joined(separator: ","))]}"#
        let largest = try Scenario.decode(try JSONValue.parse(Array(json.utf8)))
        let bytes = try FlatPlan.build(largest, schedule: nil).get()
        print("flat plan of the largest scenario without texts: \(bytes.count) bytes")
        #expect(bytes.count > 2 << 20 && bytes.count <= FlatPlan.maxBytes, "measured: \(bytes.count) bytes")
        let plan = try FlatPlanDecoder.decode(bytes)
        #expect(plan.scenario == Self.expanded(largest))

        // 130 writes of 64 KiB texts that differ by iteration (what `"data": "…{i}"` in a loop makes): 8.5 MiB of pool.
        let base = String(repeating: "x", count: 65_536 - 3)
        let big = Scenario(channels: [.pipe("p")], processes: [
            ProcessSpec(name: "a", steps: (0..<130).map { .write(channel: "p", data: .text(base + String(100 + $0)), repeat: 1) }),
        ])
        guard case .failure(.tooLarge(let atLeast)) = FlatPlan.build(big, schedule: nil) else {
            Issue.record("an 8.5 MiB plan was not refused")
            return
        }
        #expect(atLeast > FlatPlan.maxBytes)
        // A loop of 4,096 writes of one 64 KiB text: stored once, the plan stays small.
        let y = String(repeating: "y", count: 65_536)
        let same = Scenario(channels: [.pipe("p")], processes: [
            ProcessSpec(name: "a", steps: Array(repeating: .write(channel: "p", data: .text(y), repeat: 1), count: 4096)),
        ])
        let plan2 = try Self.roundTrip(same)
        #expect(plan2.stringsLength < 65_536 + 64)
    }

    @Test("e2e/test_c_runner.py runs exactly the presets that compile")
    func e2eListsTheSamePresets() throws {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: package.appendingPathComponent("e2e/test_c_runner.py"), encoding: .utf8)
        let start = try #require(text.range(of: "C_PRESETS = ("))
        let end = try #require(text[start.upperBound...].range(of: ")"))
        let ids = text[start.upperBound..<end.lowerBound].split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        #expect(ids.sorted() == Self.cPresets)
    }
}
