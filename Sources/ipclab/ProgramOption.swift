import ArgumentParser
import Foundation
import IPCLabCore

/// The `--program` option of `ipclab run` and `ipclab grade`: `FILE.c` (the program is named after the
/// file, without `.c`) or `NAME=FILE.c`; read into the API's program object (C, no arguments, empty stdin:
/// ``ProgramInputOptions`` adds those).
enum ProgramOption {
    static func json(_ option: String) throws -> JSONValue {
        var name: String?
        var file = option
        // NAME=FILE only when what comes before `=` can be a name: a path may hold `=` itself.
        if let eq = option.firstIndex(of: "="), option[..<eq].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }),
           !option[..<eq].isEmpty {
            name = String(option[..<eq])
            file = String(option[option.index(after: eq)...])
        }
        guard !file.isEmpty, let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read the program \(file.isEmpty ? "(no file given)" : file) (--program takes FILE.c or NAME=FILE.c)")
        }
        let stem = file.split(separator: "/").last.map { $0.hasSuffix(".c") ? String($0.dropLast(2)) : String($0) } ?? file
        return .object(["name": .string(name ?? stem), "language": "c", "source": .string(String(decoding: data, as: UTF8.self)),
                        "args": .array([]), "stdin": ""])
    }
}
