import IPCLabCore

/// Argument names of the process calls: fork, wait4, nanosleep, exit, a program's output.
extension EventArguments {
    func describe(_ call: ProcessCall, _ r: RawRecord) -> [(String, JSONValue)] {
        let a = r.args
        switch call {
        case .fork:
            return [("child", process(a[0]))]
        case .wait4, .waitpid:
            return [("pid", .integer(a[0])), ("process", process(a[2])),
                    ("status", r.done && r.result > 0 ? WaitStatus(Int32(truncatingIfNeeded: a[1])).json : .null),
                    ("options", .integer(call == .waitpid ? a[3] : 0))]
        case .nanosleep:
            return [("ms", .integer(a[0]))]
        case .exit:
            return [("code", .integer(a[0]))]
        case .spin:
            return [("ms", .integer(a[0]))]
        case .allocate:
            return [("bytes", .integer(a[0])), ("touched", .integer(a[1]))]
        case .forkChildren:
            return [("count", .integer(a[0])), ("sleep_ms", .integer(a[1])), ("reaped", .integer(a[2]))]
        case .openFiles:
            return [("count", .integer(a[0])), ("path", .string("/dev/null"))]
        case .writeFile:
            return [("bytes", .integer(a[0])), ("written", .integer(a[1]))]
        case .output:
            // args[3] is the writer's pid, which names the event (TraceBuilder+Programs), not an argument.
            return [("fd", .integer(a[0])), ("offset", .integer(a[1])), ("bytes", .integer(a[2]))]
        }
    }
}
