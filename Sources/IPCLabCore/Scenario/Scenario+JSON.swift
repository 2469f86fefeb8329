extension Scenario {
    /// The scenario in the JSON language it was written in (what a trace carries).
    public var json: JSONValue {
        .object([
            "channels": .array(channels.map(\.json)),
            "processes": .array(processes.map { p in
                .object(["name": .string(p.name), "steps": .array(p.steps.map(\.json))])
            }),
        ])
    }
}

extension Channel {
    public var json: JSONValue {
        var o: [String: JSONValue] = ["name": .string(name), "kind": .string(kind.rawValue)]
        if let path { o["path"] = .string(path) }
        return .object(o)
    }
}

extension Step {
    public var json: JSONValue {
        var o: [String: JSONValue] = ["op": .string(op)]
        func int(_ n: Int) -> JSONValue { .integer(Int64(n)) }
        switch self {
        case let .write(c, data, rep):
            o["channel"] = .string(c)
            switch data {
            case .text(let t): o["data"] = .string(t)
            case .size(let n): o["size"] = int(n)
            }
            if rep != 1 { o["repeat"] = int(rep) }
        case let .read(c, size, rep):
            o["channel"] = .string(c); o["size"] = int(size)
            if rep != 1 { o["repeat"] = int(rep) }
        case let .readAll(c, size), let .fill(c, size), let .setPipeSize(c, size):
            o["channel"] = .string(c); o["size"] = int(size)
        case let .close(c, end), let .open(c, end):
            o["channel"] = .string(c); o["end"] = .string(end.rawValue)
        case let .setNonblocking(c, end, enabled):
            o["channel"] = .string(c); o["end"] = .string(end.rawValue); o["enabled"] = .bool(enabled)
        case let .getPipeSize(c):
            o["channel"] = .string(c)
        case let .sleep(ms):
            o["ms"] = int(ms)
        case let .wait(p):
            o["process"] = .string(p)
        case let .exit(code):
            o["code"] = int(code)
        }
        return .object(o)
    }
}
