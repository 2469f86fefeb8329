import CIPCLab

/// A flat plan (`ipclab_plan.h`) built by hand, field by field through the C structs themselves, for
/// the C runner's tests: independent of the server's compiler, so a test of the runner does not
/// depend on it, and so its bytes can be broken on purpose.
struct HandFlatPlan {
    struct Channel {
        var kind: UInt8 = UInt8(IPCLAB_PLAN_CHANNEL_PIPE.rawValue)
        var name: String
        var path = ""
        var flags: UInt8 = 0
    }

    struct Step {
        var op: UInt16
        var flags: UInt16 = 0
        var channel: Int16 = -1
        var process: Int16 = -1
        var end: Int16 = -1
        var n: [Int64] = [0, 0, 0, 0]
        var text = ""

        static func sleep(ms: Int64) -> Step { Step(op: UInt16(IPCLAB_OP_SLEEP.rawValue), n: [ms, 0, 0, 0]) }
        static func read(channel: Int16, size: Int64) -> Step {
            Step(op: UInt16(IPCLAB_OP_READ.rawValue), channel: channel, n: [size, 1, 0, 0])
        }
    }

    var channels: [Channel] = []
    var processes: [(name: String, steps: [Step])]

    /// The plan's bytes: header, channels, processes, steps, then the string pool (each string once,
    /// NUL after it), every section 8-aligned.
    func bytes() -> [UInt8] {
        var pool: [UInt8] = []
        var interned: [String: ipclab_plan_str] = [:]
        func str(_ s: String) -> ipclab_plan_str {
            if let known = interned[s] { return known }
            let made = ipclab_plan_str(offset: UInt32(pool.count), length: UInt32(s.utf8.count))
            pool += Array(s.utf8) + [0]
            interned[s] = made
            return made
        }
        func raw<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
        func aligned(_ n: Int) -> Int { (n + 7) / 8 * 8 }

        var channelBytes: [UInt8] = []
        for c in channels {
            var ch = ipclab_plan_channel()
            ch.kind = c.kind
            ch.flags = c.flags
            ch.name = str(c.name)
            ch.path = str(c.path)
            ch.text = str("")
            channelBytes += raw(ch)
        }
        var processBytes: [UInt8] = []
        var stepBytes: [UInt8] = []
        var first: UInt32 = 0
        for p in processes {
            var pr = ipclab_plan_process()
            pr.name = str(p.name)
            pr.first_step = first
            pr.nsteps = UInt32(p.steps.count)
            first += UInt32(p.steps.count)
            processBytes += raw(pr)
            for s in p.steps {
                var st = ipclab_plan_step()
                st.op = s.op
                st.flags = s.flags
                st.channel = s.channel
                st.process = s.process
                st.process2 = -1
                st.end = s.end
                st.n = (s.n[0], s.n[1], s.n[2], s.n[3])
                st.text = str(s.text)
                stepBytes += raw(st)
            }
        }
        var h = ipclab_plan_header()
        h.magic = IPCLAB_PLAN_MAGIC
        h.version = UInt16(IPCLAB_PLAN_VERSION)
        h.nprocesses = UInt16(processes.count)
        h.nchannels = UInt16(channels.count)
        h.off_channels = UInt32(MemoryLayout<ipclab_plan_header>.size)
        h.off_processes = UInt32(aligned(Int(h.off_channels) + channelBytes.count))
        h.off_steps = UInt32(aligned(Int(h.off_processes) + processBytes.count))
        h.nsteps = first
        h.off_strings = UInt32(aligned(Int(h.off_steps) + stepBytes.count))
        h.strings_length = UInt32(pool.count)
        h.length = UInt32(aligned(Int(h.off_strings) + pool.count))
        var out = [UInt8](repeating: 0, count: Int(h.length))
        func put(_ bytes: [UInt8], at offset: UInt32) { out.replaceSubrange(Int(offset)..<Int(offset) + bytes.count, with: bytes) }
        put(raw(h), at: 0)
        put(channelBytes, at: h.off_channels)
        put(processBytes, at: h.off_processes)
        put(stepBytes, at: h.off_steps)
        put(pool, at: h.off_strings)
        return out
    }
}
