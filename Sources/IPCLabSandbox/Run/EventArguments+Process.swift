import IPCLabCore

/// Argument names of the process calls: fork, wait4, nanosleep, exit.
extension EventArguments {
    static let processBlocking: Set<String> = ["wait4", "nanosleep"]

    func describeProcessCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        let a = r.args
        switch r.call {
        case "fork":
            return [("child", process(a[0]))]
        case "wait4":
            return [("pid", .integer(a[0])), ("process", process(a[2])),
                    ("status", r.done && r.result > 0 ? WaitStatus(Int32(truncatingIfNeeded: a[1])).json : .null),
                    ("options", .integer(0))]
        case "nanosleep":
            return [("ms", .integer(a[0]))]
        case "exit":
            return [("code", .integer(a[0]))]
        default:
            return nil
        }
    }
}
