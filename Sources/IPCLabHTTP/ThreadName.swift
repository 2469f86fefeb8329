import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread, as `ps -L` and `/proc/<pid>/task/*/comm` show it (at most 15 bytes kept).
enum ThreadName {
    /// `pthread_setname_np`, which Glibc's module does not export: the thread's `comm`.
    static func set(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
