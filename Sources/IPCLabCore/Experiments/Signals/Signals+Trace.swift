/// Queries and parameters that the signal and pipe presets share.
extension Trace {
    /// Deliveries recorded by `process`'s handlers (of `signal` when given), in order.
    public func deliveries(to process: String, of signal: Signal? = nil) -> [TraceEvent] {
        events.filter { e in
            e.call == "deliver" && e.process == process && (signal == nil || e.arg("signal") == signal.map { .string($0.name) })
        }
    }

    /// The state letters `proc_stat` read for `process`, with the snapshot each came from.
    public func processStates(of process: String) -> [ObjectSnapshot] {
        objects.filter { $0.kind == "process" && $0.object == process }
    }

    /// How a process ended, in words.
    public func ending(of process: String) -> String {
        switch self.process(process)?.exit {
        case .code(let c)?: "exited with \(c)"
        case let .signal(name, core)?: "was killed by \(name)" + (core ? " (core dumped)" : "")
        case nil: "was not seen to end"
        }
    }
}

// `TraceEvent.int(_:)` and `.string(_:)` (arguments by name) are in Trace+SharedMemory.swift.
extension TraceEvent {
    /// `si_value.sival_int` of a delivery, when it carried a value.
    public var sivalInt: Int64? {
        if case .object(let o)? = arg("si_value"), case .integer(let n)? = o["sival_int"] { return n }
        return nil
    }

    /// `si_value.sival_ptr` of a delivery, when it carried a value.
    public var sivalPtr: String? {
        if case .object(let o)? = arg("si_value"), case .string(let s)? = o["sival_ptr"] { return s }
        return nil
    }

    /// `"SIGUSR1 from b (pid 3, SI_USER)"`, for details.
    public var deliverySummary: String {
        let from = string("sender").map { " from \($0)" } ?? ""
        let pid = int("si_pid").map { "pid \($0), " } ?? ""
        return "\(string("signal") ?? "?")\(from) (\(pid)\(string("si_code") ?? "?"))"
    }

    /// The result and errno in words: `0`, `-1 EINVAL`, `never returned`.
    public var outcomeText: String {
        guard let result else { return "never returned" }
        return errno.map { "\(result) \($0)" } ?? "\(result)"
    }
}

extension Parameter {
    /// A signal parameter: a name (`"SIGUSR1"`, `"SIGRTMIN+2"`) or a number, read back as its name.
    /// `allow` returns why a signal does not fit this preset, or nil.
    static func signal(_ name: String, _ description: String, default value: Signal,
                       allow: @escaping @Sendable (Signal) -> String? = { _ in nil }) -> Parameter {
        Parameter(name, .string, description, default: value.json, count: 1...16) { given, path throws(LabError) in
            let text: JSONValue = if case .string(let s) = given, let n = Int(s) { .integer(Int64(n)) } else { given }
            let sig = try Signal.decode(text, at: path, code: .invalidParameter)
            if let why = allow(sig) { throw LabError(.invalidParameter, why, path: path.description) }
            return sig.json
        }
    }

    /// A word that must be one of `choices`.
    static func choice(_ name: String, _ description: String, default value: String, _ choices: [String]) -> Parameter {
        Parameter(name, .string, description + " One of: " + choices.joined(separator: ", ") + ".", default: .string(value),
                  count: 1...32, choices: choices) { given, path throws(LabError) in
            guard case .string(let s) = given, choices.contains(s) else {
                throw LabError(.invalidParameter, "must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", "))",
                               path: path.description)
            }
            return given
        }
    }
}

extension Parameters {
    /// A signal parameter (validated already).
    func signal(_ name: String) -> Signal {
        string(name).flatMap { Signal(parsing: $0) } ?? .sigusr1
    }
}

/// The small pipe a receiver writes once it is ready (handlers installed, signals blocked),
/// so that the sender never sends before that: without it a signal could arrive while its
/// default action is still in force and kill the receiver.
enum ReadyPipe {
    static let channel = Channel.pipe("ready")
    static let word = "ready"
    static var signal: Step { .write(channel: "ready", data: .text(word), repeat: 1) }
    static var await: Step { .read(channel: "ready", size: word.utf8.count, repeat: 1) }
}
