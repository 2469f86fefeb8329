/// A Linux signal, by number, written in the language by its usual name (`SIGUSR1`,
/// `SIGRTMIN+2`); numbers are accepted too (`10`, `"10"`) and read back as names.
///
/// The numbers are Linux's on x86-64 and arm64 (the generic table), with glibc's real-time
/// range: `SIGRTMIN` is 34 because glibc keeps 32 and 33 for its threads. The sandbox checks
/// this against the C library at run time.
public struct Signal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let number: Int

    public init?(number: Int) {
        guard Self.valid.contains(number) else { return nil }
        self.number = number
    }

    private init(unchecked number: Int) { self.number = number }

    /// What the kernel does when a signal arrives and its disposition is the default (signal(7)).
    public enum DefaultAction: String, Sendable {
        /// Terminate the process.
        case term = "Term"
        /// Terminate the process and dump core.
        case core = "Core"
        /// Stop the process.
        case stop = "Stop"
        /// Continue the process if it is stopped.
        case cont = "Cont"
        /// Ignore the signal.
        case ign = "Ign"
    }

    /// glibc's `SIGRTMIN` and the kernel's `SIGRTMAX`.
    public static let rtMin = 34
    public static let rtMax = 64

    /// Standard signals, by number: name (without `SIG`) and default action.
    private static let standard: [Int: (String, DefaultAction)] = [
        1: ("HUP", .term), 2: ("INT", .term), 3: ("QUIT", .core), 4: ("ILL", .core), 5: ("TRAP", .core),
        6: ("ABRT", .core), 7: ("BUS", .core), 8: ("FPE", .core), 9: ("KILL", .term), 10: ("USR1", .term),
        11: ("SEGV", .core), 12: ("USR2", .term), 13: ("PIPE", .term), 14: ("ALRM", .term), 15: ("TERM", .term),
        16: ("STKFLT", .term), 17: ("CHLD", .ign), 18: ("CONT", .cont), 19: ("STOP", .stop), 20: ("TSTP", .stop),
        21: ("TTIN", .stop), 22: ("TTOU", .stop), 23: ("URG", .ign), 24: ("XCPU", .core), 25: ("XFSZ", .core),
        26: ("VTALRM", .term), 27: ("PROF", .term), 28: ("WINCH", .ign), 29: ("IO", .term), 30: ("PWR", .term),
        31: ("SYS", .core),
    ]

    /// Other names of standard signals.
    private static let aliases: [String: Int] = ["IOT": 6, "CLD": 17, "POLL": 29]

    /// Every signal a scenario may name: the standard ones and the real-time range.
    /// (32 and 33 belong to glibc's thread library and are left out.)
    static let valid: Set<Int> = Set(1...31).union(rtMin...rtMax)

    public static let sigint = Signal(unchecked: 2)
    public static let sigkill = Signal(unchecked: 9)
    public static let sigusr1 = Signal(unchecked: 10)
    public static let sigsegv = Signal(unchecked: 11)
    public static let sigusr2 = Signal(unchecked: 12)
    public static let sigpipe = Signal(unchecked: 13)
    public static let sigterm = Signal(unchecked: 15)
    public static let sigchld = Signal(unchecked: 17)
    public static let sigcont = Signal(unchecked: 18)
    public static let sigstop = Signal(unchecked: 19)
    public static let sigfpe = Signal(unchecked: 8)
    public static let sigrtmin = Signal(unchecked: rtMin)

    /// `SIGUSR1`, `SIGRTMIN`, `SIGRTMIN+2`, `SIGRTMAX` — as the sandbox's C library names them too.
    public var name: String {
        if let (n, _) = Self.standard[number] { return "SIG" + n }
        if number == Self.rtMin { return "SIGRTMIN" }
        if number == Self.rtMax { return "SIGRTMAX" }
        return "SIGRTMIN+\(number - Self.rtMin)"
    }

    public var description: String { name }

    /// Whether it is a real-time signal (queued, one delivery per send).
    public var isRealTime: Bool { number >= Self.rtMin }

    /// What the kernel does with it by default (real-time signals terminate).
    public var defaultAction: DefaultAction { Self.standard[number]?.1 ?? .term }

    /// SIGKILL and SIGSTOP: their disposition cannot be changed.
    public var isUncatchable: Bool { number == 9 || number == 19 }

    /// Reads `SIGUSR1`, `SIGRTMIN+2`, `SIGRTMAX-1`, an alias (`SIGIOT`), or a number (`10`, `"10"`).
    public init?(parsing text: String) {
        if let n = Int(text) {
            self.init(number: n)
            return
        }
        guard text.hasPrefix("SIG") else { return nil }
        let rest = String(text.dropFirst(3))
        if let (n, _) = Self.standard.first(where: { $0.value.0 == rest }) {
            self.init(number: n)
        } else if let n = Self.aliases[rest] {
            self.init(number: n)
        } else if rest == "RTMIN" {
            self.init(number: Self.rtMin)
        } else if rest == "RTMAX" {
            self.init(number: Self.rtMax)
        } else if rest.hasPrefix("RTMIN+"), let k = Int(rest.dropFirst(6)), k >= 0 {
            self.init(number: Self.rtMin + k)
        } else if rest.hasPrefix("RTMAX-"), let k = Int(rest.dropFirst(6)), k >= 0 {
            self.init(number: Self.rtMax - k)
        } else {
            return nil
        }
    }

    /// Reads a signal from JSON (a name or a number) strictly; `path` names the field in errors.
    public static func decode(_ value: JSONValue, at path: JSONPath, code: LabError.Code) throws(LabError) -> Signal {
        let hint = "a signal name such as \"SIGUSR1\" or \"SIGRTMIN+2\", or its number (1…31, \(rtMin)…\(rtMax))"
        switch value {
        case .string(let s):
            if let sig = Signal(parsing: s) { return sig }
            throw LabError(code, "unknown signal \"\(s)\": give \(hint)", path: path.description)
        case .integer(let n):
            if let sig = Signal(number: Int(n)) { return sig }
            throw LabError(code, "no signal \(n): give \(hint)", path: path.description)
        case .double(let d) where d == d.rounded() && abs(d) < 1e6:
            if let sig = Signal(number: Int(d)) { return sig }
            throw LabError(code, "no signal \(Int(d)): give \(hint)", path: path.description)
        default:
            throw LabError(code, "must be \(hint), not \(value.typeName)", path: path.description)
        }
    }

    public static func < (a: Signal, b: Signal) -> Bool { a.number < b.number }

    public var json: JSONValue { .string(name) }
}

extension JSONObjectReader {
    /// A signal field (name or number).
    public mutating func signal(_ key: String) throws(LabError) -> Signal? {
        guard let value = value(key) else { return nil }
        return try Signal.decode(value, at: path.key(key), code: .invalidScenario)
    }

    public mutating func requiredSignal(_ key: String) throws(LabError) -> Signal {
        guard let sig = try signal(key) else { throw fail(key, "is required: a signal name such as \"SIGUSR1\", or its number") }
        return sig
    }
}
