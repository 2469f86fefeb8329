import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// The server's cache of flat plans (``LabRunner/flatPlans``): runs of one preset with the same parameters
/// share a plan; other parameters, another schedule or another preset get their own, each the plan
/// ``FlatPlan/compile(_:schedule:)`` writes for it.
@Suite("Flat plan cache")
struct FlatPlanCacheTests {
    static func request(_ id: String, _ params: JSONValue? = nil) throws -> RunRequest {
        try RunRequest.preset(id, params: params)
    }

    @Test("the same preset and parameters hit; different parameters or schedule get their own plan")
    func keyedByScenarioAndSchedule() throws {
        let cache = RecentCache<FlatPlan.Source, [UInt8]?>(capacity: 16)
        let hello = try Self.request("pipe.hello", ["message": "Hello"])
        let bye = try Self.request("pipe.hello", ["message": "Bye, world"])
        func plan(_ r: RunRequest, _ schedule: RunSchedule? = nil) -> [UInt8]? {
            FlatPlan.compile(r.scenario, schedule: schedule, cache: cache)
        }
        let first = try #require(plan(hello))
        #expect(first == FlatPlan.compile(hello.scenario, schedule: nil))
        #expect(plan(hello) == first && cache.count == 1, "the second run of the same request is a hit")
        let other = try #require(plan(bye))
        #expect(other != first, "other parameters, another plan")
        #expect(other == FlatPlan.compile(bye.scenario, schedule: nil))
        let schedule = RunSchedule(seed: 7, jitterUs: 100)
        let jittered = try #require(plan(hello, schedule))
        #expect(jittered != first && jittered == FlatPlan.compile(hello.scenario, schedule: schedule))
        let capacity = try #require(plan(try Self.request("pipe.capacity")))
        #expect(capacity != first && cache.count == 4)
    }

    @Test("a scenario without a flat plan is remembered as none, and a renamed one is not taken for it")
    func noPlanKept() throws {
        let cache = RecentCache<FlatPlan.Source, [UInt8]?>(capacity: 16)
        // A step built in code that the C runner cannot run (as in FlatPlanTests.otherFamilies).
        let sync = Channel(name: "s", spec: .sharedMemory(SharedMemoryChannel(type: .anonymous, size: BenchStep.Bounds.syncBytes)))
        let refused = Scenario(channels: [.pipe("p"), sync], processes: [ProcessSpec(name: "a", steps: [
            .benchSend(BenchStep.Transfer(mechanism: .tcp, channel: "p", sync: "s", totalBytes: 1, chunkBytes: 1)),
        ])])
        #expect(FlatPlan.compile(refused, schedule: nil, cache: cache) == nil)
        #expect(FlatPlan.compile(refused, schedule: nil, cache: cache) == nil)
        #expect(cache.count == 1)
        var hello = try Self.request("pipe.hello").scenario
        let plain = try #require(FlatPlan.compile(hello, schedule: nil, cache: cache))
        hello.processes[0].name += "x"   // the parent: no step names it
        let renamed = try #require(FlatPlan.compile(hello, schedule: nil, cache: cache))
        #expect(renamed != plain && renamed == FlatPlan.compile(hello, schedule: nil))
        #expect(cache.count == 3)
    }
}
