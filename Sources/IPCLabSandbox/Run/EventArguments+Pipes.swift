import CIPCLab
import Glibc
import IPCLabCore

/// Argument names of the pipe and FIFO calls.
extension EventArguments {
    static let pipeBlocking: Set<String> = ["read", "write", "open"]

    func describePipeCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        if let procStat = describeProcStat(r) { return procStat }
        let a = r.args
        func end(_ i: Int64) -> JSONValue { i == 0 ? "read" : "write" }
        func path(_ i: Int64) -> JSONValue {
            scenario.channels.indices.contains(Int(i)) ? scenario.channels[Int(i)].path.map(JSONValue.string) ?? .null : .null
        }
        switch r.call {
        case "pipe":
            return [("fds", [.integer(a[0]), .integer(a[1])]), ("channel", channel(a[2]))]
        case "mkfifo":
            return [("path", path(a[1])), ("mode", .string(String(a[0], radix: 8).leftPadded(4))), ("channel", channel(a[1]))]
        case "close":
            return [("fd", .integer(a[0])), ("channel", channel(a[1])), ("end", end(a[2]))]
        case "fstat":
            var out: [(String, JSONValue)] = [("fd", .integer(a[0])), ("channel", channel(a[1])), ("end", end(a[2]))]
            if r.done && r.result == 0 {
                let type: JSONValue = (UInt32(truncatingIfNeeded: a[6]) & S_IFMT) == S_IFIFO ? "S_IFIFO" : .string(String(a[6], radix: 8))
                out += [("st_dev", .integer(a[5])), ("st_ino", .integer(a[4])), ("type", type),
                        ("open_flags", a[3] >= 0 ? .string(openFlags(Int32(a[3]))) : .null)]
            }
            return out
        case "read", "write":
            return [("fd", .integer(a[0])), ("count", .integer(a[1])), ("channel", channel(a[2])),
                    ("end", r.call == "read" ? "read" : "write")]
        case "open":
            return [("path", path(a[1])), ("flags", .string(openFlags(Int32(truncatingIfNeeded: a[0])))), ("channel", channel(a[1])), ("end", end(a[2]))]
        case "fcntl":
            let cmd = Int32(truncatingIfNeeded: a[1])
            var out: [(String, JSONValue)] = [("fd", .integer(a[0])), ("cmd", .string(fcntlName(cmd)))]
            if cmd == F_SETFL { out.append(("arg", .string(openFlags(Int32(truncatingIfNeeded: a[2]))))) }
            if cmd == ipclab_F_SETPIPE_SZ { out.append(("arg", .integer(a[2]))) }
            out.append(("channel", channel(a[3])))
            return out
        case "dup2":
            return [("oldfd", .integer(a[0])), ("newfd", .integer(a[1])), ("channel", channel(a[2])), ("end", end(a[3]))]
        case "getrandom":
            return [("count", .integer(a[0])), ("flags", .integer(a[1]))]
        default:
            return nil
        }
    }

    func fcntlName(_ cmd: Int32) -> String {
        switch cmd {
        case F_GETFL: "F_GETFL"
        case F_SETFL: "F_SETFL"
        case ipclab_F_GETPIPE_SZ: "F_GETPIPE_SZ"
        case ipclab_F_SETPIPE_SZ: "F_SETPIPE_SZ"
        default: "\(cmd)"
        }
    }

    func openFlags(_ flags: Int32) -> String {
        var parts: [String] = []
        switch flags & O_ACCMODE {
        case O_RDONLY: parts.append("O_RDONLY")
        case O_WRONLY: parts.append("O_WRONLY")
        default: parts.append("O_RDWR")
        }
        if flags & O_NONBLOCK != 0 { parts.append("O_NONBLOCK") }
        return parts.joined(separator: "|")
    }
}
