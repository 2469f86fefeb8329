/// A pipe (`pipe(2)`, inherited by every process) or a FIFO (`mkfifo(3)`, opened by path).
public enum PipeChannel: ChannelFamily {
    case pipe
    /// A FIFO at a path inside the run's private `/tmp`.
    case fifo(path: String)

    public static let kinds = ["pipe", "fifo"]

    public static func decode(kind: String, _ r: inout JSONObjectReader) throws(LabError) -> PipeChannel {
        let path = try r.string("path")
        if kind == "pipe" {
            if path != nil { throw r.fail("path", "a pipe has no path") }
            return .pipe
        }
        let name = try r.requiredString("name")
        let p = path ?? "/tmp/\(name)"
        try FIFOPath.check(p, at: r.path.key("path"))
        return .fifo(path: p)
    }

    public var kind: String {
        switch self {
        case .pipe: "pipe"
        case .fifo: "fifo"
        }
    }

    public var path: String? {
        if case .fifo(let p) = self { return p }
        return nil
    }

    public var fields: [String: JSONValue] {
        path.map { ["path": .string($0)] } ?? [:]
    }
}
