import IPCLabCore

/// The plan of a program run, as the server writes it into the ring and the run's init reads it:
/// `{"programs": [...]}` (a scenario's plan never has that key). After the plan's bytes the ring
/// keeps room for what the programs wrote (``ProgramOutput``).
enum ProgramPlan {
    static func encode(_ programs: [ProgramSpec]) -> [UInt8] {
        var w = JSONWriter()
        w.value(["programs": .array(programs.map(\.json))])
        return w.bytes
    }

    /// The programs of a plan (parsed once by the run's init), or nil when it is not a program run's.
    static func decode(_ json: JSONValue) -> [ProgramSpec]? {
        guard case .object(let fields) = json, let list = fields["programs"] else { return nil }
        return try? ProgramSpec.decodeList(list, at: JSONPath().key("programs"))
    }
}
