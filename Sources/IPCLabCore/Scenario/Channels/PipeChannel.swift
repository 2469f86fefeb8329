/// A pipe (`pipe(2)`, inherited by every process) or a FIFO (`mkfifo(3)`, opened by path).
public enum PipeChannel: ChannelFamily {
    case pipe
    /// A FIFO at a path inside the run's private `/tmp`, made by the first process before it forks, or
    /// (`beforeFork` false, `"before_fork": false`) only by a process's `mkfifo` step: then no process
    /// inherits anything of it, and whoever opens it knows nothing but its path.
    case fifo(path: String, beforeFork: Bool = true)

    public static let kinds = ["pipe", "fifo"]

    public static func decode(kind: String, _ r: inout JSONObjectReader) throws(LabError) -> PipeChannel {
        let path = try r.string("path")
        let beforeFork = try r.bool("before_fork")
        if kind == "pipe" {
            if path != nil { throw r.fail("path", "a pipe has no path") }
            if beforeFork != nil { throw r.fail("before_fork", "is for a fifo: a pipe is always made before fork") }
            return .pipe
        }
        let name = try r.requiredString("name")
        let p = path ?? "/tmp/\(name)"
        try FIFOPath.check(p, at: r.path.key("path"))
        return .fifo(path: p, beforeFork: beforeFork ?? true)
    }

    public var kind: String {
        switch self {
        case .pipe: "pipe"
        case .fifo: "fifo"
        }
    }

    public var path: String? {
        if case .fifo(let p, _) = self { return p }
        return nil
    }

    /// False for a FIFO that only an `mkfifo` step makes.
    public var madeBeforeFork: Bool {
        if case .fifo(_, let before) = self { return before }
        return true
    }

    public var fields: [String: JSONValue] {
        var o: [String: JSONValue] = path.map { ["path": .string($0)] } ?? [:]
        if !madeBeforeFork { o["before_fork"] = false }
        return o
    }
}
