/// Steps on semaphores: P (wait) and V (post), and removing them. After each one the trace
/// carries the semaphore's value (`sem_getvalue`, or `semctl(GETVAL)`) and who is blocked on it.
public enum SemaphoreStep: StepFamily {
    /// P: `sem_wait(3)`, or `semop(-1)` on a SysV semaphore; blocks while the value is 0.
    case wait(channel: String)
    /// `sem_trywait(3)`, or `semop(-1, IPC_NOWAIT)`: fails with `EAGAIN` instead of blocking.
    case tryWait(channel: String)
    /// V: `sem_post(3)`, or `semop(+1)`; wakes a waiter.
    case post(channel: String)
    /// SysV only: `semop(0)` blocks until the value is 0 (with a decrement by each process first, a barrier).
    case waitZero(channel: String)
    /// POSIX named: `sem_close(3)`.
    case close(channel: String)
    /// POSIX named: `sem_unlink(3)`: the name goes; processes that opened it keep using it.
    case unlink(channel: String)
    /// SysV: `semctl(IPC_RMID)` (waiters wake with `EIDRM`); POSIX unnamed: `sem_destroy(3)`.
    case remove(channel: String)

    public static let ops = ["sem_wait", "sem_trywait", "sem_post", "sem_wait_zero", "sem_close", "sem_unlink", "sem_remove"]

    public static func decode(op: String, _ r: inout JSONObjectReader) throws(LabError) -> SemaphoreStep {
        let channel = try r.requiredString("channel")
        switch op {
        case "sem_wait": return .wait(channel: channel)
        case "sem_trywait": return .tryWait(channel: channel)
        case "sem_post": return .post(channel: channel)
        case "sem_wait_zero": return .waitZero(channel: channel)
        case "sem_close": return .close(channel: channel)
        case "sem_unlink": return .unlink(channel: channel)
        default: return .remove(channel: channel)
        }
    }

    public var op: String {
        switch self {
        case .wait: "sem_wait"
        case .tryWait: "sem_trywait"
        case .post: "sem_post"
        case .waitZero: "sem_wait_zero"
        case .close: "sem_close"
        case .unlink: "sem_unlink"
        case .remove: "sem_remove"
        }
    }

    public var channel: String? {
        switch self {
        case .wait(let c), .tryWait(let c), .post(let c), .waitZero(let c), .close(let c), .unlink(let c), .remove(let c): c
        }
    }

    public var fields: [String: JSONValue] { ["channel": .string(channel ?? "")] }

    public func check(in scenario: Scenario, process: Int, at path: JSONPath) throws(LabError) {
        guard let name = channel, let c = scenario.channel(named: name) else { return }
        func fail(_ why: String) -> LabError { LabError(.invalidScenario, why, path: path.key("channel").description) }
        guard case .semaphore(let sem) = c.spec else {
            throw fail("\(op) works on a semaphore channel; \"\(name)\" is a \(c.kind)")
        }
        switch self {
        case .waitZero where sem.type != .sysv:
            throw fail("sem_wait_zero (semop with sem_op 0) is for a sysv semaphore; \"\(name)\" is \(sem.type.rawValue)")
        case .close where sem.type != .posixNamed, .unlink where sem.type != .posixNamed:
            throw fail("\(op) is for a posix_named semaphore; \"\(name)\" is \(sem.type.rawValue)"
                + (sem.type == .sysv || sem.type == .posixUnnamed ? " (use sem_remove)" : ""))
        case .remove where sem.type == .posixNamed:
            throw fail("sem_remove is for a sysv (IPC_RMID) or posix_unnamed (sem_destroy) semaphore; \"\(name)\" is posix_named (use sem_unlink)")
        default:
            break
        }
    }
}

extension Step {
    public static func semWait(_ channel: String) -> Step { .semaphore(.wait(channel: channel)) }
    public static func semTryWait(_ channel: String) -> Step { .semaphore(.tryWait(channel: channel)) }
    public static func semPost(_ channel: String) -> Step { .semaphore(.post(channel: channel)) }
    public static func semWaitZero(_ channel: String) -> Step { .semaphore(.waitZero(channel: channel)) }
    public static func semClose(_ channel: String) -> Step { .semaphore(.close(channel: channel)) }
    public static func semUnlink(_ channel: String) -> Step { .semaphore(.unlink(channel: channel)) }
    public static func semRemove(_ channel: String) -> Step { .semaphore(.remove(channel: channel)) }
}
