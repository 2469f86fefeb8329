import CIPCLab
import Glibc

/// errno values by name, the way traces show them.
enum ErrnoName {
    /// `"EAGAIN"` for `EAGAIN`; `"E<n>"` for a number without a name; nil for 0.
    static func of(_ err: Int32) -> String? {
        guard err != 0 else { return nil }
        if let name = ipclab_errno_name(err) { return String(cString: name) }
        return "E\(err)"
    }
}

/// Signal names, `SIGPIPE` or `SIGRTMIN+2`.
enum SignalName {
    static func of(_ sig: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 32)
        if let name = ipclab_signal_name(sig, &buf, buf.count) { return String(cString: name) }
        return "SIG\(sig)"
    }
}

/// Calls `body` until it does not fail with `EINTR`. For the sandbox's own
/// bookkeeping only: a participant's calls report `EINTR` as the kernel said it.
@inline(__always)
func retryingEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let r = body()
        if r == -1 && errno == EINTR { continue }
        return r
    }
}

/// A failed system call of the sandbox itself, with the call's name.
struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var errno: Int32
    init(_ call: String, _ errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }
    var description: String { "\(call): \(ErrnoName.of(errno) ?? "?") (\(String(cString: strerror(errno))))" }
}
