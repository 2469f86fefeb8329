import CIPCLab
import Foundation
import Testing

/// The C runner's plan loader (runner_plan.c) on plans that are not what the server writes:
/// truncated, mutated at random, broken field by field, or random bytes. Whatever it is given, it
/// must answer (never crash) and refuse everything but a valid plan with EINVAL. The plans go
/// through `ipclab-runner check-plan` in one process, one verdict byte each.
@Suite("C runner plan validation")
struct CRunnerPlanTests {
    /// Valid plans of every shape the tests know: one process, a pipe, a FIFO and two processes.
    static let valid: [[UInt8]] = [
        HandFlatPlan(processes: [("solo", [.sleep(ms: 1)])]).bytes(),
        HandFlatPlan(channels: [.init(name: "p")], processes: [("solo", [.read(channel: 0, size: 1)])]).bytes(),
        HandFlatPlan(channels: [.init(kind: UInt8(IPCLAB_PLAN_CHANNEL_FIFO.rawValue), name: "f", path: "/tmp/f")],
                     processes: [("writer", [Step(op: UInt16(IPCLAB_OP_MKFIFO.rawValue), channel: 0),
                                             Step(op: UInt16(IPCLAB_OP_OPEN.rawValue), channel: 0, end: 1),
                                             Step(op: UInt16(IPCLAB_OP_WRITE.rawValue), channel: 0, n: [0, 1, 0, 0], text: "hello")]),
                                 ("reader", [Step(op: UInt16(IPCLAB_OP_WAIT.rawValue), process: 0), .sleep(ms: 2)])]).bytes(),
    ]
    typealias Step = HandFlatPlan.Step

    /// The verdicts of `ipclab-runner check-plan` for `plans`, in order ('Y', 'N' or 'X').
    static func verdicts(_ plans: [[UInt8]]) throws -> [Character] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLab.runnerPath.get())
        process.arguments = ["check-plan"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var frames = Data()
        for plan in plans {
            var length = UInt32(plan.count).littleEndian
            frames.append(Data(bytes: &length, count: 4))
            frames.append(contentsOf: plan)
        }
        // The verdicts (one byte per plan, a few thousand) fit the output pipe's buffer: all input first, then read.
        input.fileHandleForWriting.write(frames)
        try input.fileHandleForWriting.close()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "check-plan ended by \(process.terminationReason.rawValue) \(process.terminationStatus)")
        return String(decoding: answer, as: UTF8.self).map { $0 }
    }

    /// `plan` with its header, or the struct at `offset`, changed by `body`.
    static func with<T>(_ plan: [UInt8], at offset: Int = 0, as: T.Type, _ body: (inout T) -> Void) -> [UInt8] {
        var bytes = plan
        bytes.withUnsafeMutableBytes { raw in
            var value = raw.loadUnaligned(fromByteOffset: offset, as: T.self)
            body(&value)
            raw.storeBytes(of: value, toByteOffset: offset, as: T.self)
        }
        return bytes
    }

    static func header(_ plan: [UInt8]) -> ipclab_plan_header {
        plan.withUnsafeBytes { $0.loadUnaligned(as: ipclab_plan_header.self) }
    }

    @Test("valid plans load; each field broken alone is refused with EINVAL")
    func brokenFields() throws {
        let fifo = Self.valid[2]
        let h = Self.header(fifo)
        let step0 = Int(h.off_steps)
        let step2 = Int(h.off_steps) + 2 * MemoryLayout<ipclab_plan_step>.size
        let process1 = Int(h.off_processes) + MemoryLayout<ipclab_plan_process>.size
        let channel0 = Int(h.off_channels)
        typealias H = ipclab_plan_header
        typealias S = ipclab_plan_step
        let broken: [String: [UInt8]] = [
            "magic": Self.with(fifo, as: H.self) { $0.magic ^= 1 },
            "version": Self.with(fifo, as: H.self) { $0.version = 2 },
            "length": Self.with(fifo, as: H.self) { $0.length += 8 },
            "flags": Self.with(fifo, as: H.self) { $0.flags = 0x80 },
            "no process": Self.with(fifo, as: H.self) { $0.nprocesses = 0 },
            "17 processes": Self.with(fifo, as: H.self) { $0.nprocesses = 17 },
            "channels past the end": Self.with(fifo, as: H.self) { $0.nchannels = 60 },
            "steps misaligned": Self.with(fifo, as: H.self) { $0.off_steps += 4 },
            "steps overlap processes": Self.with(fifo, as: H.self) { $0.off_steps = $0.off_processes },
            "pool past the end": Self.with(fifo, as: H.self) { $0.strings_length += 9 },
            "cpus": Self.with(fifo, as: H.self) { $0.cpus = 3 },
            "jitter": Self.with(fifo, as: H.self) { $0.jitter_us = 100_001 },
            "unknown op": Self.with(fifo, at: step0, as: S.self) { $0.op = 0x0999 },
            "channel out of range": Self.with(fifo, at: step0, as: S.self) { $0.channel = 1 },
            "channel negative": Self.with(fifo, at: step0, as: S.self) { $0.channel = -2 },
            "a pipe op with no channel": Self.with(fifo, at: step2, as: S.self) { $0.channel = -1 },
            "a process op with a channel": Self.with(fifo, at: step0 + 3 * MemoryLayout<S>.size, as: S.self) { $0.channel = 0 },
            "process out of range": Self.with(fifo, at: step0 + 3 * MemoryLayout<S>.size, as: S.self) { $0.process = 2 },
            "end out of range": Self.with(fifo, at: step0 + MemoryLayout<S>.size, as: S.self) { $0.end = 2 },
            "open without an end": Self.with(fifo, at: step0 + MemoryLayout<S>.size, as: S.self) { $0.end = -1 },
            "signal 65": Self.with(fifo, at: step0, as: S.self) { $0.sig = 65 },
            "unknown step flag": Self.with(fifo, at: step0, as: S.self) { $0.flags = 0x100 },
            "negative size": Self.with(fifo, at: step2, as: S.self) { $0.n.0 = -1 },
            "a sized write past the 1 MiB buffer": Self.with(fifo, at: step2, as: S.self) {
                $0.flags = UInt16(IPCLAB_PLAN_STEP_DATA_SIZE)
                $0.n.0 = (1 << 20) + 1
                $0.text = ipclab_plan_str(offset: 0, length: 0)
            },
            "a read past the 1 MiB buffer": Self.with(Self.valid[1], at: Int(Self.header(Self.valid[1]).off_steps), as: S.self) { $0.n.0 = (1 << 20) + 1 },
            "text past the pool": Self.with(fifo, at: step2, as: S.self) { $0.text.offset = h.strings_length },
            "an empty text past the pool": Self.with(fifo, at: step2, as: S.self) { $0.text = ipclab_plan_str(offset: h.strings_length + 1, length: 0) },
            "text without its NUL": Self.with(fifo, at: step2, as: S.self) { $0.text.length += 1 },
            "steps past nsteps": Self.with(fifo, at: process1, as: ipclab_plan_process.self) { $0.nsteps += 1 },
            "FIFO path not absolute": Self.with(fifo, at: channel0, as: ipclab_plan_channel.self) { $0.path.offset += 1; $0.path.length -= 1 },
            "channel kind": Self.with(fifo, at: channel0, as: ipclab_plan_channel.self) { $0.kind = 7 },
            "a FIFO op on a pipe": Self.with(fifo, at: channel0, as: ipclab_plan_channel.self) { $0.kind = UInt8(IPCLAB_PLAN_CHANNEL_PIPE.rawValue); $0.flags = 0 },
        ]
        let names = broken.keys.sorted()
        // FlatPlan writes an empty string as offset 0, length 0, where the pool holds another string's first byte.
        let emptyAtZero = Self.with(fifo, at: channel0, as: ipclab_plan_channel.self) { $0.text = ipclab_plan_str(offset: 0, length: 0) }
        #expect(emptyAtZero[Int(h.off_strings)] != 0)
        // A sized write of the whole buffer, and a read of it: the most the language allows, accepted.
        let wholeBuffer = Self.with(fifo, at: step2, as: S.self) {
            $0.flags = UInt16(IPCLAB_PLAN_STEP_DATA_SIZE)
            $0.n.0 = 1 << 20
            $0.text = ipclab_plan_str(offset: 0, length: 0)
        }
        let wholeRead = Self.with(Self.valid[1], at: Int(Self.header(Self.valid[1]).off_steps), as: S.self) { $0.n.0 = 1 << 20 }
        let valid = Self.valid + [emptyAtZero, wholeBuffer, wholeRead]
        let answers = try Self.verdicts(valid + names.map { broken[$0]! })
        #expect(answers.count == valid.count + names.count)
        #expect(Array(answers.prefix(valid.count)) == Array(repeating: "Y", count: valid.count), "the valid plans load")
        for (name, verdict) in zip(names, answers.dropFirst(valid.count)) {
            #expect(verdict == "N", "\(name): \(verdict)")
        }
    }

    @Test("truncated, mutated and random plans: never a crash, refused with EINVAL or loaded, one verdict each")
    func fuzz() throws {
        var rng = RingCorruptionTests.SplitMix(state: 0x1234_5678) // seeded: a failing case can be replayed
        var plans: [[UInt8]] = []
        var mustRefuse: [Bool] = []
        for plan in Self.valid {
            // Every truncation, with the header's length left as written, then made to agree.
            for cut in 0..<plan.count {
                plans.append(Array(plan.prefix(cut)))
                mustRefuse.append(true)
                if cut >= MemoryLayout<ipclab_plan_header>.size {
                    plans.append(Self.with(Array(plan.prefix(cut)), as: ipclab_plan_header.self) { $0.length = UInt32(cut) })
                    mustRefuse.append(false)
                }
            }
            // Random flips of 1 to 4 bytes, and random 32-bit words written anywhere.
            for _ in 0..<1500 {
                var mutated = plan
                for _ in 0...(rng.next() % 4) {
                    let at = Int(rng.next() % UInt64(plan.count))
                    mutated[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                }
                plans.append(mutated)
                mustRefuse.append(false)
                var word = plan
                let at = Int(rng.next() % UInt64(plan.count - 3))
                let value = UInt32(truncatingIfNeeded: rng.next())
                for i in 0..<4 { word[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
                plans.append(word)
                mustRefuse.append(false)
            }
        }
        // Random bytes behind a valid magic and version.
        for _ in 0..<300 {
            var random = (0..<(64 + Int(rng.next() % 512))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            random.replaceSubrange(0..<6, with: [0x49, 0x50, 0x43, 0x50, 1, 0])
            plans.append(random)
            mustRefuse.append(false)
        }
        let answers = try Self.verdicts(plans)
        #expect(answers.count == plans.count, "one verdict per plan (\(answers.count) of \(plans.count))")
        #expect(!answers.contains("X"), "every refusal is EINVAL")
        for (i, verdict) in answers.enumerated() where mustRefuse[i] && verdict != "N" {
            Issue.record("plan \(i) (a truncation) was not refused: \(verdict)")
        }
        #expect(answers.contains("N") && answers.contains("Y"))
    }
}
