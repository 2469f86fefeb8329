import ArgumentParser
import Foundation
import IPCLabCore

/// What `ipclab run` and `ipclab grade` give each `--program`: `--program-arg NAME=WORD` (repeatable,
/// in order: the program's `args`) and `--program-stdin NAME=FILE` (its `stdin`; `-` reads this
/// command's standard input), as the API's `programs[].args` and `.stdin`.
struct ProgramInputOptions: ParsableArguments {
    @Option(name: .customLong("program-arg"), help: ArgumentHelp(
        "An argument of the program NAME (repeat, in order: argv[1], argv[2], …).", valueName: "NAME=WORD"))
    var args: [String] = []

    @Option(name: .customLong("program-stdin"), help: ArgumentHelp(
        "What the program NAME reads on its standard input: a file, or - for this command's standard input.",
        valueName: "NAME=FILE"))
    var stdins: [String] = []

    /// The API's `programs` for `options` (the `--program` values), with their arguments and stdin.
    /// A NAME no `--program` has is a ValidationError naming it.
    func programs(_ options: [String]) throws -> JSONValue {
        var programs: [[String: JSONValue]] = try options.map {
            guard case .object(let program) = try ProgramOption.json($0) else { throw ValidationError("bad --program \($0)") }
            return program
        }
        let names = programs.map { if case .string(let n)? = $0["name"] { n } else { "" } }
        func index(of name: String, in option: String) throws -> Int {
            guard let i = names.firstIndex(of: name) else {
                throw ValidationError("\(option) \(name)=…: no --program is named \(name) (the programs: \(names.joined(separator: ", ")))")
            }
            return i
        }
        for pair in args {
            let (name, word) = try Self.split(pair, "--program-arg")
            let i = try index(of: name, in: "--program-arg")
            guard case .array(let list)? = programs[i]["args"] else { continue }
            programs[i]["args"] = .array(list + [.string(word)])
        }
        for pair in stdins {
            let (name, file) = try Self.split(pair, "--program-stdin")
            let i = try index(of: name, in: "--program-stdin")
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data else { throw ValidationError("--program-stdin \(name)=\(file): cannot read \(file)") }
            programs[i]["stdin"] = .string(String(decoding: data, as: UTF8.self))
        }
        return .array(programs.map(JSONValue.object))
    }

    /// `NAME=VALUE` split at its first `=`.
    private static func split(_ pair: String, _ option: String) throws -> (String, String) {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
            throw ValidationError("\(option) takes NAME=VALUE, not \"\(pair)\"")
        }
        return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
    }
}
