import IPCLabCore

/// Argument names of the process calls: fork, wait4, nanosleep, exit.
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
        }
    }
}
