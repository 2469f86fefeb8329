import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// The flat plan's shared-memory and semaphore channels and steps (FlatPlan+SharedMemory.swift): every op
/// and channel variant reads back field for field, and what the C validator would refuse is refused here
/// first (the run then goes to the Swift runner instead of failing to start).
@Suite("Flat plan: shared memory and semaphores")
struct FlatPlanSharedMemoryTests {
    /// Every channel variant and every op of both families, some in a loop with `{i}`.
    static let everyOp = """
        {"channels": [
           {"name": "anon", "kind": "shared_memory", "size": 256, "init": "hello"},
           {"name": "priv", "kind": "shared_memory", "size": 64, "mapping": "private"},
           {"name": "seg", "kind": "shared_memory", "type": "sysv", "size": 8192, "ftok_path": "/tmp/segkey", "ftok_id": 7},
           {"name": "obj", "kind": "shared_memory", "type": "posix", "size": 4096, "shm_name": "/obj", "mapping": "private"},
           {"name": "named", "kind": "semaphore", "type": "posix_named", "value": 2, "sem_name": "/s1"},
           {"name": "unnamed", "kind": "semaphore", "type": "posix_unnamed", "value": 0},
           {"name": "set", "kind": "semaphore", "type": "sysv", "value": 32767, "ftok_id": 9}],
         "processes": [
          {"name": "a", "steps": [
            {"op": "lookup", "channel": "seg"}, {"op": "attach", "channel": "seg", "address": 1073741824},
            {"op": "store", "channel": "seg", "offset": 8191, "data": "z"}, {"op": "detach", "channel": "seg"},
            {"op": "shm_remove", "channel": "seg"}, {"op": "lookup", "channel": "obj"}, {"op": "attach", "channel": "obj"},
            {"op": "load", "channel": "obj", "offset": 96, "size": 4000}, {"op": "shm_unlink", "channel": "obj"},
            {"op": "loop", "times": 3, "do": [{"op": "store_int", "channel": "anon", "offset": "{i * 8}", "value": "{i - 1}"},
                                               {"op": "load_int", "channel": "anon", "offset": "{i * 8}"}]},
            {"op": "store_pointer", "channel": "anon", "offset": 248, "target": 255},
            {"op": "load_pointer", "channel": "anon", "offset": 248, "size": 4096},
            {"op": "increment", "channel": "priv", "offset": 56, "times": 10000000, "detail": 16},
            {"op": "increment", "channel": "anon", "times": 5, "sync": "atomic", "detail": 0},
            {"op": "increment", "channel": "anon", "offset": 8, "sync": "semaphore", "semaphore": "set"},
            {"op": "barrier", "channel": "anon", "offset": 0, "count": 30},
            {"op": "barrier", "channel": "priv", "offset": 8, "count": 5, "spread": true}]},
          {"name": "b", "steps": [
            {"op": "sem_wait", "channel": "named"}, {"op": "sem_trywait", "channel": "unnamed"}, {"op": "sem_post", "channel": "set"},
            {"op": "sem_wait_zero", "channel": "set"}, {"op": "sem_close", "channel": "named"}, {"op": "sem_unlink", "channel": "named"},
            {"op": "sem_remove", "channel": "unnamed"}, {"op": "sem_remove", "channel": "set"}]}]}
        """

    static func scenario(_ json: String) throws -> Scenario {
        try Scenario.decode(try JSONValue.parse(Array(json.utf8)))
    }

    @Test("Every op and channel variant of shared memory and semaphores reads back field for field")
    func everyOpRoundTrips() throws {
        let scenario = try Self.scenario(Self.everyOp)
        let plan = try FlatPlanTests.roundTrip(scenario)
        #expect(plan.scenario.processes[0].steps.count == 9 + 6 + 7)
        #expect(plan.scenario.processes[1].steps.count == 8)
        // The C validator takes it too.
        let bytes = try #require(FlatPlan.compile(scenario, schedule: nil))
        #expect(try CRunnerPlanTests.verdicts([bytes]) == ["Y"])
    }

    @Test("What the C validator refuses, the compiler refuses first: the run goes to the Swift runner")
    func refusedBeforeTheValidator() throws {
        let region = { (size: Int) in Channel(name: "m", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: size))) }
        let semaphore = Channel(name: "s", spec: .semaphore(SemaphoreChannel(type: .posixUnnamed, value: 1)))
        func compiles(_ channels: [Channel], _ steps: [Step]) -> Bool {
            FlatPlan.compile(Scenario(channels: channels, processes: [ProcessSpec(name: "a", steps: steps)]), schedule: nil) != nil
        }
        #expect(compiles([region(64)], [.storeInt(channel: "m", offset: 56, value: 1)]))
        // Built in code, past what the language checks: each would be refused by runner_plan_shm.c.
        #expect(!compiles([region(64)], [.storeInt(channel: "m", offset: 64, value: 1)]))
        #expect(!compiles([region(64)], [.storeInt(channel: "m", offset: 4, value: 1)]))
        #expect(!compiles([region(64)], [.load(channel: "m", offset: 60, size: 8)]))
        #expect(!compiles([region(64)], [.store(channel: "m", offset: 0, data: String(repeating: "x", count: 65))]))
        #expect(!compiles([region(64)], [.storePointer(channel: "m", offset: 0, target: 64)]))
        #expect(!compiles([region(64)], [.barrier(channel: "m", offset: 0, count: 7)]))
        #expect(!compiles([region(64)], [.increment(channel: "m", times: 0, sync: .none)]))
        #expect(!compiles([region(64), semaphore], [.increment(channel: "m", times: 1, sync: .semaphore, semaphore: "m")]))
        #expect(compiles([region(64), semaphore], [.increment(channel: "m", times: 1, sync: .semaphore, semaphore: "s")]))
        #expect(!compiles([region(64), semaphore], [.load(channel: "s", size: 1)]))
        #expect(!compiles([region(64), semaphore], [.semPost("m")]))
        #expect(!compiles([region(64)], [.attach(channel: "m", address: 4096)]))
        #expect(!compiles([region(0)], []))
        #expect(!compiles([region(2 << 20)], []))
        #expect(!compiles([Channel(name: "s", spec: .semaphore(SemaphoreChannel(type: .posixUnnamed, value: 40000)))], []))
        #expect(!compiles([Channel(name: "s", spec: .semaphore(SemaphoreChannel(type: .posixNamed, value: 1, semName: "s")))], []))
    }
}
