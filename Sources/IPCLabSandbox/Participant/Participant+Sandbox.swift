import CIPCLab
import Glibc
import IPCLabCore

/// Sandbox probes: `try_syscall` makes the real call and records the kernel's answer.
extension Participant {
    mutating func runSandboxStep(_ step: SandboxStep, at i: Int) {
        switch step {
        case .trySyscall(let call):
            let which = (0..<ipclab_try_syscall_count()).first { String(cString: ipclab_try_syscall_name($0)) == call } ?? -1
            var err: Int32 = 0
            let r = ipclab_try_syscall(which, &err)
            Recorder.record(IPCLAB_REC_EVENT, call, step: i, result: Int(r), errno: err)
        }
    }
}
