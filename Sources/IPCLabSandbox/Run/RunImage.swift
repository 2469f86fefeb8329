import Glibc

/// Which image a run's processes come from (the hidden `--run-image` of `ipclab serve` and `ipclab run`;
/// docs/c-runner.md). With ``c`` the server holds two spawners: one whose runners are `ipclab-runner`
/// (C), for every run whose scenario has a flat plan (``FlatPlan``), and the usual one, whose runners
/// are the Swift image, for every other run (programs, and families the C runner does not have yet).
public enum RunImage: String, Sendable, CaseIterable {
    /// Every run on the Swift runner (`ipclab-sandbox runner`), with its JSON plan.
    case swift
    /// Runs with a flat plan on the C runner, the others on the Swift runner.
    case c

    /// The C runner's file name, installed beside `ipclab` (built by `make build`).
    public static let runnerExecutableName = "ipclab-runner"

    /// Where the C runner of the `ipclab` binary at `executable` is: beside it.
    public static func runnerExecutable(beside executable: String) -> String {
        guard let slash = executable.lastIndex(of: "/") else { return runnerExecutableName }
        return String(executable[...slash]) + runnerExecutableName
    }

    /// `--run-image c` cannot start.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The run uids of `options` split between the two spawners of ``c``, whole runs (3 ids) each, so that
    /// no uid can be held by a run of each at once: the Swift spawner's first, then the C spawner's.
    public static func split(_ options: Spawner.Options) throws(Unavailable) -> (swift: Spawner.Options, c: Spawner.Options) {
        let runs = options.uidCount / RunUidPool.idsPerRun
        guard runs >= 2 else {
            throw Unavailable(description: "--run-image c needs --run-uid-count of at least \(2 * RunUidPool.idsPerRun) "
                + "(\(RunUidPool.idsPerRun) uids per run, for each of its two spawners), not \(options.uidCount)")
        }
        var swift = options, c = options
        swift.uidCount = (runs - runs / 2) * RunUidPool.idsPerRun
        c.uidBase = options.uidBase + swift.uidCount
        c.uidCount = options.uidCount - swift.uidCount
        return (swift, c)
    }

    /// The C runner beside `executable`, or why `--run-image c` cannot start without it.
    public static func checkedRunnerExecutable(beside executable: String) throws(Unavailable) -> String {
        let path = runnerExecutable(beside: executable)
        guard access(path, X_OK) == 0 else {
            throw Unavailable(description: "--run-image c needs the C runner at \(path), which is not there or not executable "
                + "(\(String(cString: strerror(errno)))): build it with `make build`")
        }
        return path
    }
}
