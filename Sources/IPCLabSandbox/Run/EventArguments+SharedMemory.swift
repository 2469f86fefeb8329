import CIPCLab
import Glibc
import IPCLabCore

/// Argument names of the shared-memory calls and memory accesses, and the state of a segment.
/// Addresses are shown in hex (`"0x7f3a5c000000"`): they are what differs between processes.
extension EventArguments {
    /// The `increment` loop takes as long as its iterations, a `barrier` until the last arrives: start and end are reported.
    static let sharedMemoryBlocking: Set<String> = ["increment", "barrier"]
    /// Memory accesses whose bytes are shown as a payload.
    static let sharedMemoryMovesBytes: Set<String> = ["store", "load", "process_vm_readv"]

    func describeSharedMemoryCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        let a = r.args
        switch r.call {
        case "mmap":
            var out: [(String, JSONValue)] = [
                ("addr", a[0] == 0 ? "NULL" : Self.addressText(a[0])), ("length", .integer(a[1])), ("prot", .string(Self.protNames(Int32(truncatingIfNeeded: a[2])))),
                ("flags", .string(Self.mapFlagNames(Int32(truncatingIfNeeded: a[3])))), ("fd", .integer(a[4])), ("offset", .integer(a[5])),
                ("channel", channel(a[6])),
            ]
            if r.done && r.result > 0 { out.append(("mapped", Self.rangeText(r.result, a[1]))) }
            return out
        case "munmap":
            return [("addr", Self.addressText(a[0])), ("length", .integer(a[1])), ("channel", channel(a[2]))]
        case "mknod":
            return [("path", ftokPath(a[0])), ("mode", .string("S_IFREG|" + String(a[1], radix: 8).leftPadded(4))), ("channel", channel(a[0]))]
        case "ftok":
            var out: [(String, JSONValue)] = [("path", ftokPath(a[0])), ("proj_id", .integer(a[1])), ("channel", channel(a[0]))]
            if r.done && r.result >= 0 { out.append(("key", Self.addressText(r.result))) }
            return out
        case "shmget":
            return [("key", Self.addressText(a[0])), ("size", .integer(a[1])), ("shmflg", .string(Self.ipcFlags(Int32(truncatingIfNeeded: a[2])))), ("channel", channel(a[3]))]
        case "shmat":
            var out: [(String, JSONValue)] = [("shmid", .integer(a[0])), ("shmaddr", a[1] == 0 ? "NULL" : Self.addressText(a[1])),
                                              ("shmflg", .integer(a[2])), ("channel", channel(a[3]))]
            if r.done && r.result > 0 { out.append(("attached_at", Self.addressText(r.result))) }
            return out
        case "shmdt":
            return [("shmaddr", Self.addressText(a[0])), ("channel", channel(a[1]))]
        case "shmctl":
            return [("shmid", .integer(a[0])), ("cmd", Int32(truncatingIfNeeded: a[1]) == IPC_RMID ? "IPC_RMID" : .integer(a[1])), ("channel", channel(a[2]))]
        case "shm_open":
            return [("name", shmName(a[0])), ("oflag", .string(Self.openFlagNames(Int32(truncatingIfNeeded: a[1])))), ("mode", .string(String(a[2], radix: 8).leftPadded(4))),
                    ("channel", channel(a[0]))]
        case "ftruncate":
            return [("fd", .integer(a[0])), ("length", .integer(a[1])), ("channel", channel(a[2]))]
        case "shm_unlink":
            return [("name", shmName(a[0])), ("channel", channel(a[0]))]
        case "store", "load":
            return [("base", Self.addressText(a[0])), ("offset", .integer(a[1])), ("count", .integer(a[2])),
                    ("channel", channel(a[3]))]
        case "store_int", "load_int":
            return [("base", Self.addressText(a[0])), ("offset", .integer(a[1])), ("value", .integer(a[2])),
                    ("channel", channel(a[3]))]
        case "store_pointer":
            return [("base", Self.addressText(a[0])), ("offset", .integer(a[1])), ("value", .integer(a[2])),
                    ("points_to", Self.addressText(a[2])), ("target_offset", .integer(a[4])), ("channel", channel(a[3]))]
        case "process_vm_readv":
            let size = channelSize(a[3])
            return [("pid", .integer(a[0])), ("address", Self.addressText(a[1])), ("count", .integer(a[2])),
                    ("in_own_mapping", .bool(a[4] == 1)), ("own_mapping", Self.rangeText(a[5], Int64(size))), ("channel", channel(a[3]))]
        case "atomic_fetch_add":
            return [("base", Self.addressText(a[0])), ("offset", .integer(a[1])), ("value", 1), ("old", .integer(a[2])),
                    ("channel", channel(a[3]))]
        case "sched_setaffinity":
            return [("pid", .integer(a[0])), ("cpu", a[1] >= 0 ? .integer(a[1]) : .null), ("arrival", .integer(a[2]))]
        case "barrier":
            var out: [(String, JSONValue)] = [("base", Self.addressText(a[0])), ("offset", .integer(a[1])), ("count", .integer(a[2])),
                                              ("channel", channel(a[3]))]
            // EPROTO: the arrival read from the shared count was outside 1…count (the region was overwritten).
            if r.done && r.result < 0 && r.err == EPROTO { out.append(("arrival", .integer(a[4]))) }
            return out
        case "increment":
            let sync = ["none", "atomic", "semaphore"][Int(max(0, min(2, a[3])))]
            var out: [(String, JSONValue)] = [
                ("base", Self.addressText(a[0])), ("offset", .integer(a[1])), ("iterations", .integer(a[2])),
                ("sync", .string(sync)), ("channel", channel(a[4])),
            ]
            if a[5] >= 0 { out.append(("semaphore", channel(a[5]))) }
            if r.done && r.result > 0 { out += [("first_loaded", .integer(a[6])), ("last_stored", .integer(a[7]))] }
            return out
        default:
            return nil
        }
    }

    /// State of a segment, from a `shared_memory` object record:
    /// SysV [channel, nattch, size, after, key, shmid, SHM_DEST, errno]; POSIX [channel, st_nlink, st_size, after, fd, 0, 0, errno].
    /// `exists` is 0 when IPC_STAT (or fstat) failed (the `errno` label says why): after IPC_RMID and the last detach.
    func sharedMemoryObjectState(_ r: RawRecord) -> (state: [(String, Int64)], labels: [(String, String)])? {
        guard r.call == "shared_memory" else { return nil }
        let a = r.args
        if a[7] != 0 {
            return ([("exists", 0)], [("errno", ErrnoName.of(Int32(truncatingIfNeeded: a[7])) ?? "E\(a[7])")])
        }
        if scenario.channels.indices.contains(Int(a[0])), case .sharedMemory(let spec) = scenario.channels[Int(a[0])].spec,
           spec.type == .sysv {
            return ([("exists", 1), ("shmid", a[5]), ("key", a[4]), ("size", a[2]), ("nattch", a[1]), ("marked_for_removal", a[6])],
                    [("key_hex", "0x" + String(a[4], radix: 16))])
        }
        return ([("exists", 1), ("fd", a[4]), ("size", a[2]), ("links", a[1])], [])
    }

    private func ftokPath(_ c: Int64) -> JSONValue {
        guard scenario.channels.indices.contains(Int(c)) else { return .null }
        switch scenario.channels[Int(c)].spec {
        case .sharedMemory(let s): return s.ftokPath.map(JSONValue.string) ?? .null
        case .semaphore(let s): return s.ftokPath.map(JSONValue.string) ?? .null
        default: return .null
        }
    }

    private func shmName(_ c: Int64) -> JSONValue {
        guard scenario.channels.indices.contains(Int(c)), case .sharedMemory(let s) = scenario.channels[Int(c)].spec else { return .null }
        return s.shmName.map(JSONValue.string) ?? .null
    }

    private func channelSize(_ c: Int64) -> Int {
        guard scenario.channels.indices.contains(Int(c)), case .sharedMemory(let s) = scenario.channels[Int(c)].spec else { return 0 }
        return s.size
    }

    static func addressText(_ n: Int64) -> JSONValue {
        .string(n < 0 ? "-0x" + String(n.magnitude, radix: 16) : "0x" + String(n, radix: 16))
    }

    /// `"0x7f00…000-0x7f00…fff"`: the bytes a mapping covers.
    static func rangeText(_ base: Int64, _ length: Int64) -> JSONValue {
        .string("0x" + String(base, radix: 16) + "-0x" + String(base &+ max(0, length - 1), radix: 16))
    }

    static func protNames(_ prot: Int32) -> String {
        if prot == PROT_NONE { return "PROT_NONE" }
        var parts: [String] = []
        if prot & PROT_READ != 0 { parts.append("PROT_READ") }
        if prot & PROT_WRITE != 0 { parts.append("PROT_WRITE") }
        if prot & PROT_EXEC != 0 { parts.append("PROT_EXEC") }
        return parts.joined(separator: "|")
    }

    static func mapFlagNames(_ flags: Int32) -> String {
        var parts = [flags & MAP_SHARED != 0 ? "MAP_SHARED" : "MAP_PRIVATE"]
        if flags & MAP_ANONYMOUS != 0 { parts.append("MAP_ANONYMOUS") }
        return parts.joined(separator: "|")
    }

    static func ipcFlags(_ flags: Int32) -> String {
        var parts: [String] = []
        if flags & IPC_CREAT != 0 { parts.append("IPC_CREAT") }
        parts.append(String(flags & 0o777, radix: 8).leftPadded(4))
        return parts.joined(separator: "|")
    }

    static func openFlagNames(_ flags: Int32) -> String {
        var parts: [String] = []
        switch flags & O_ACCMODE {
        case O_RDONLY: parts.append("O_RDONLY")
        case O_WRONLY: parts.append("O_WRONLY")
        default: parts.append("O_RDWR")
        }
        if flags & O_CREAT != 0 { parts.append("O_CREAT") }
        if flags & O_EXCL != 0 { parts.append("O_EXCL") }
        return parts.joined(separator: "|")
    }
}
