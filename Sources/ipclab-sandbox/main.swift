import Glibc
import IPCLabSandbox

// `ipclab-sandbox`: the sandbox side's own small image. `ipclab serve` and `ipclab run` start their
// spawner from it (`ipclab-sandbox spawner …`), and the spawner execs its runners from it
// (`ipclab-sandbox runner …`), whose forks become the runs. It holds the sandbox and the run code and
// none of the server's (HTTP, storage, argument parsing), with the Swift runtime and Foundation linked
// in statically: ~10 mappings instead of ~170 and a few dirty pages instead of megabytes, so forking
// a run init, its participants' forks, their page faults and their exits cost a fraction (README,
// "Runners"). Its arguments are written by `ipclab` (SpawnerClient, SlotForker), not by people: the
// same spellings as the hidden `ipclab spawner` and `ipclab runner` commands, which stay as a fallback
// when this binary is not installed beside `ipclab`.

/// The arguments after the command: `--name value` pairs and `--flag`s, taken one by one.
struct Arguments {
    var rest: [String]

    /// `--name N` (taken), or `fallback` when absent.
    mutating func option<T: FixedWidthInteger>(_ name: String, _ fallback: T) -> T {
        guard let i = rest.firstIndex(of: name) else { return fallback }
        guard i + 1 < rest.count, let value = T(rest[i + 1]) else { Self.fail("\(name) needs a number") }
        rest.removeSubrange(i...(i + 1))
        return value
    }

    /// `--name TEXT` (taken), or nil when absent.
    mutating func value(_ name: String) -> String? {
        guard let i = rest.firstIndex(of: name) else { return nil }
        guard i + 1 < rest.count, !rest[i + 1].isEmpty else { Self.fail("\(name) needs a value") }
        defer { rest.removeSubrange(i...(i + 1)) }
        return rest[i + 1]
    }

    /// Whether `--name` was given (taken).
    mutating func flag(_ name: String) -> Bool {
        guard let i = rest.firstIndex(of: name) else { return false }
        rest.remove(at: i)
        return true
    }

    /// Nothing may be left once every known argument is taken.
    func finish() {
        if !rest.isEmpty { Self.fail("unknown arguments: \(rest.joined(separator: " "))") }
    }

    static func fail(_ message: String) -> Never {
        let line = Array("ipclab-sandbox: \(message)\n".utf8)
        _ = Glibc.write(2, line, line.count)
        exit(2)
    }
}

var arguments = Arguments(rest: Array(CommandLine.arguments.dropFirst(2)))
switch CommandLine.arguments.dropFirst().first {
case "runner":
    let every = arguments.option("--reexec-every", Spawner.defaultReexecEvery)
    let warmUp = !arguments.flag("--no-warm-up")
    let codePages = CodePages(rawValue: arguments.option("--code-pages", CodePages.standard.rawValue))
    arguments.finish()
    Spawner.runner(reexecEvery: max(1, every), warmUp: warmUp, codePages: codePages)
case "spawner":
    var options = Spawner.Options()
    options.uidBase = arguments.option("--run-uid-base", Spawner.defaultRunUidBase)
    options.uidCount = arguments.option("--run-uid-count", Spawner.defaultRunUidCount)
    options.reexecEvery = max(1, arguments.option("--reexec-every", Spawner.defaultReexecEvery))
    options.codePages = CodePages(rawValue: arguments.option("--code-pages", CodePages.standard.rawValue))
    let insecure = arguments.flag("--insecure-no-sandbox")
    options.oneShot = arguments.flag("--one-shot")
    options.runnerExecutable = arguments.value("--runner-executable")
    options.runCore = !arguments.flag("--no-run-core")
    arguments.finish()
    Spawner.serve(insecure: insecure, options: options)
default:
    Arguments.fail("internal: started by ipclab (spawner | runner), not for people")
}
