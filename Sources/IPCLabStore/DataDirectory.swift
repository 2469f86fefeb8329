import Foundation

/// Where the store lives when `--data-dir` is not given, and how it is created.
public enum DataDirectory {
    /// `/var/lib/ipclab` for root; otherwise `$XDG_STATE_HOME/ipclab`, or `~/.local/state/ipclab`
    /// when `XDG_STATE_HOME` is unset (the XDG base directory for state that outlives a restart).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment,
                                isRoot: Bool = getuid() == 0) -> String {
        if isRoot { return "/var/lib/ipclab" }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/ipclab" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state/ipclab"
    }

    /// Creates `path` and its parents when missing; the store's own folder is 0700, since traces
    /// may hold students' work.
    static func create(_ path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: path])
            }
            return
        }
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
