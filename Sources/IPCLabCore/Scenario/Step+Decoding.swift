extension Step {
    /// Reads one step object (`{"op": "write", …}`) strictly.
    static func decode(_ value: JSONValue, at path: JSONPath) throws(LabError) -> Step {
        typealias B = Scenario.Bounds
        var r = try JSONObjectReader(value, at: path, code: .invalidScenario)
        let op = try r.requiredString("op")
        let step: Step
        switch op {
        case "write":
            let channel = try r.requiredString("channel")
            let text = try r.string("data")
            let size = try r.int("size", in: B.bytes)
            let data: Data
            switch (text, size) {
            case let (t?, nil):
                guard B.textBytes.contains(t.utf8.count) else {
                    throw r.fail("data", "must be 1…\(B.textBytes.upperBound) bytes of UTF-8")
                }
                data = .text(t)
            case let (nil, n?): data = .size(n)
            case (nil, nil): throw r.fail("data", "a write needs \"data\" (a string) or \"size\" (a byte count)")
            default: throw r.fail("size", "give either \"data\" or \"size\", not both")
            }
            step = .write(channel: channel, data: data, repeat: try r.int("repeat", in: B.repeats) ?? 1)
        case "read":
            step = .read(channel: try r.requiredString("channel"), size: try r.requiredInt("size", in: B.bytes),
                         repeat: try r.int("repeat", in: B.repeats) ?? 1)
        case "read_all":
            step = .readAll(channel: try r.requiredString("channel"), size: try r.int("size", in: B.bytes) ?? 4096)
        case "fill":
            step = .fill(channel: try r.requiredString("channel"), size: try r.int("size", in: B.bytes) ?? 4096)
        case "close":
            step = .close(channel: try r.requiredString("channel"), end: try requiredEnd(&r))
        case "open":
            step = .open(channel: try r.requiredString("channel"), end: try requiredEnd(&r))
        case "set_nonblocking":
            step = .setNonblocking(channel: try r.requiredString("channel"), end: try requiredEnd(&r),
                                   enabled: try r.bool("enabled") ?? true)
        case "set_pipe_size":
            step = .setPipeSize(channel: try r.requiredString("channel"), size: try r.requiredInt("size", in: B.pipeSize))
        case "get_pipe_size":
            step = .getPipeSize(channel: try r.requiredString("channel"))
        case "sleep":
            step = .sleep(ms: try r.requiredInt("ms", in: B.sleepMs))
        case "wait":
            step = .wait(process: try r.requiredString("process"))
        case "exit":
            step = .exit(code: try r.int("code", in: B.exitCode) ?? 0)
        default:
            throw r.fail("op", "unknown op \"\(op)\"; one of: \(Step.ops.joined(separator: ", "))")
        }
        try r.finish()
        return step
    }

    private static func requiredEnd(_ r: inout JSONObjectReader) throws(LabError) -> PipeEnd {
        guard let end = try r.choice("end", PipeEnd.self) else { throw r.fail("end", "is required: \"read\" or \"write\"") }
        return end
    }
}
