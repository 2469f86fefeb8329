import IPCLabCore
import Testing

/// Every preset, run with its defaults: each event is a call of the tables (`Call+<Family>.swift`),
/// shows the arguments its table names, in its order and of its types, and never an `argN`.
@Suite("The call tables against real runs", .serialized)
struct CallTableRunTests {
    @Test("every preset's trace names its calls' arguments as the tables say", arguments: Catalog.standard.experiments.map(\.id))
    func presetFollowsTheTables(_ id: String) async throws {
        let trace = try await run(id)
        for e in trace.events {
            let where_ = "#\(e.seq) \(e.process) \(e.call)"
            #expect(!e.args.contains { $0.0.hasPrefix("arg") && Int($0.0.dropFirst(3)) != nil }, "\(where_) shows \(e.args.map(\.0))")
            let specs = Call.all.map(\.spec).filter { $0.name == e.call }
            let names = e.args.map(\.0)
            // Some table of that name lists exactly these arguments, in its order, leaving out only optional ones.
            let spec = specs.first { spec in
                let listed = spec.arguments.map(\.name.rawValue)
                var i = listed.startIndex
                for n in names {
                    guard let j = listed[i...].firstIndex(of: n) else { return false }
                    if listed[i..<j].contains(where: { m in spec.arguments.first { $0.name.rawValue == m }?.presence == .always }) { return false }
                    i = j + 1
                }
                return !listed[i...].contains { m in spec.arguments.first { $0.name.rawValue == m }?.presence == .always }
            }
            guard let spec = try? #require(spec, "\(where_) shows \(names), which no table lists (\(specs.map { $0.arguments.map(\.name.rawValue) }))") else { continue }
            #expect(e.canBlock == spec.blocks || spec.family == .bench, "\(where_): blocks")
            for (name, value) in e.args {
                let argument = try #require(spec.argument(ArgumentName(rawValue: name)))
                #expect(Self.fits(value, argument), "\(where_): \(name) = \(value) is not \(argument.type) (\(argument.presence))")
            }
        }
    }

    /// Whether a value has the JSON shape the table gives its argument.
    static func fits(_ value: JSONValue, _ a: CallArgument) -> Bool {
        switch value {
        case .null: return a.presence != .always
        // fcntl's arg is flag names for F_SETFL and an integer for F_SETPIPE_SZ.
        case .integer: return a.type == .integer || a.name == .arg
        case .double: return false
        case .bool: return a.type == .boolean
        case .string: return [.string, .flags, .address, .signal, .channel, .process].contains(a.type)
        case .array: return a.type == .array || a.type == .signals
        case .object: return a.type == .object
        }
    }
}
