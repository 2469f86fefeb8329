/// One of a request's `programs`: a student's C source, compiled and run in the run's sandbox
/// (README, "C programs"). Every process it makes is named after it (`server`, `server.1`, …).
public struct ProgramSpec: Sendable, Equatable {
    /// Its name: the first process's name, and the stem of its forks' names.
    public var name: String
    /// `c`, the one language there is.
    public var language: String
    public var source: String
    /// argv[1…] (argv[0] is the name).
    public var args: [String]
    /// What the first process reads on its standard input.
    public var stdin: String

    public init(name: String, language: String = "c", source: String, args: [String] = [], stdin: String = "") {
        self.name = name
        self.language = language
        self.source = source
        self.args = args
        self.stdin = stdin
    }

    /// Bounds of a request's programs, also stated in `openapi.yaml`.
    public enum Bounds {
        public static let programs = 1...4
        public static let sourceBytes = 1...65_536
        public static let args = 0...32
        public static let argBytes = 0...1024
        public static let stdinBytes = 0...65_536
        /// Lower-case letters, digits and `_`, starting with a letter: the name of a process and of a file.
        public static let nameLength = 1...16
    }

    /// The languages a program may be written in.
    public static let languages = ["c"]

    /// Reads `programs` of a request body, with the path of every bad field (all of them at once,
    /// as for a scenario: ``LabError/errors``).
    public static func decodeList(_ value: JSONValue, at path: JSONPath) throws(LabError) -> [ProgramSpec] {
        guard case .array(let items) = value else {
            throw LabError(.invalidRequest, "must be an array of programs, not \(value.typeName)", path: path.description)
        }
        guard Bounds.programs.contains(items.count) else {
            throw LabError(.invalidRequest, "must hold \(Bounds.programs.lowerBound)…\(Bounds.programs.upperBound) programs, not \(items.count)",
                           path: path.description)
        }
        var errors = ErrorCollector()
        var programs: [ProgramSpec] = []
        for (i, item) in items.enumerated() {
            guard let program = errors.attempt({ () throws(LabError) in try decode(item, at: path.index(i)) }) else { continue }
            if programs.contains(where: { $0.name == program.name }) {
                errors.add(LabError(.invalidRequest, "two programs are named \"\(program.name)\"", path: path.index(i).key("name").description))
            }
            programs.append(program)
        }
        try errors.check()
        return programs
    }

    /// Reads one program, every bad field reported at once.
    static func decode(_ value: JSONValue, at path: JSONPath) throws(LabError) -> ProgramSpec {
        var r = try JSONObjectReader(value, at: path, code: .invalidRequest)
        var errors = ErrorCollector()
        let name = errors.attempt { () throws(LabError) in try r.requiredString("name") }
        let language = errors.attempt { () throws(LabError) in try r.string("language") ?? "c" }
        let source = errors.attempt { () throws(LabError) in try r.requiredString("source") }
        let argValues = errors.attempt { () throws(LabError) in try r.array("args") ?? [] } ?? []
        let stdin = errors.attempt { () throws(LabError) in try r.string("stdin") ?? "" }
        errors.attempt { () throws(LabError) in try r.finish() }
        // The schema's ProgramName, so that every process name (`name.N`) is a ProcessName.
        func lower(_ c: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) }
        func allowed(_ c: UInt8) -> Bool { lower(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_") }
        if let name, !(Bounds.nameLength.contains(name.utf8.count) && name.utf8.first.map(lower) == true && name.utf8.allSatisfy(allowed)) {
            errors.add(r.fail("name", "must be 1…16 lower-case letters, digits or _, starting with a letter, not \"\(name)\""))
        }
        if let language, !languages.contains(language) { errors.add(r.fail("language", "must be \"c\", not \"\(language)\"")) }
        if let source {
            if !Bounds.sourceBytes.contains(source.utf8.count) {
                errors.add(r.fail("source", "must be \(Bounds.sourceBytes.lowerBound)…\(Bounds.sourceBytes.upperBound) bytes, not \(source.utf8.count)"))
            } else if source.utf8.contains(0) {
                errors.add(r.fail("source", "must not contain a NUL character"))
            }
        }
        if !Bounds.args.contains(argValues.count) {
            errors.add(r.fail("args", "must hold at most \(Bounds.args.upperBound) arguments, not \(argValues.count)"))
        }
        var args: [String] = []
        for (i, v) in argValues.prefix(Bounds.args.upperBound).enumerated() {
            let at = path.key("args").index(i).description
            guard case .string(let s) = v else {
                errors.add(LabError(.invalidRequest, "must be a string, not \(v.typeName)", path: at))
                continue
            }
            guard Bounds.argBytes.contains(s.utf8.count), !s.utf8.contains(0) else {
                errors.add(LabError(.invalidRequest, "must be at most \(Bounds.argBytes.upperBound) bytes, without NUL", path: at))
                continue
            }
            args.append(s)
        }
        if let stdin, !Bounds.stdinBytes.contains(stdin.utf8.count) {
            errors.add(r.fail("stdin", "must be at most \(Bounds.stdinBytes.upperBound) bytes, not \(stdin.utf8.count)"))
        }
        try errors.check()
        // Each is nil only when reading it failed, and then check() threw.
        guard let name, let language, let source, let stdin else { throw LabError(.internalError, "a part of a program was lost") }
        return ProgramSpec(name: name, language: language, source: source, args: args, stdin: stdin)
    }

    /// The plan's form of a program (also what a stored run keeps of it).
    public var json: JSONValue {
        ["name": .string(name), "language": .string(language), "source": .string(source),
         "args": .array(args.map(JSONValue.string)), "stdin": .string(stdin)]
    }

    /// The scenario a program run's trace is read against: one process per program, by name, with
    /// no steps and no channels (the processes a program forks are named when the trace is built).
    public static func scenario(of programs: [ProgramSpec]) -> Scenario {
        Scenario(channels: [], processes: programs.map { ProcessSpec(name: $0.name, steps: []) })
    }
}
