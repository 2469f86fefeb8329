import IPCLabCore
import IPCLabSandbox
import Testing

/// The semaphore presets run for real, with their defaults and with other parameters.
@Suite("Semaphore runs", .serialized)
struct SemaphoreRunTests {
    func observation(_ trace: Trace, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Observation {
        try #require(trace.observations.first { $0.id == id }, "no \(id) in \(trace.observations.map(\.id))", sourceLocation: sourceLocation)
    }

    /// The value after every operation on a semaphore, as snapshotted.
    func values(_ trace: Trace, _ channel: String) -> [Int64] {
        trace.snapshots(of: channel).compactMap { $0.value("value") }
    }

    // MARK: sem.mutex

    @Test("sem.mutex: one process inside at a time; the others sleep in sem_wait; the value stays 0 or 1", arguments: ["posix_named", "posix_unnamed"])
    func mutex(_ type: String) async throws {
        let trace = try await run("sem.mutex", params: ["type": .string(type)])
        expectWentWell(trace)
        if type == "posix_named" {
            let open = try #require(trace.calls("sem_open", on: "mutex").first, "\(describe(trace))")
            #expect(open.arg("name") == "/mutex" && open.int("value") == 1)
            #expect(trace.calls("sem_unlink", by: "p1", on: "mutex").first?.result == 0)
        } else {
            #expect(trace.calls("sem_init", on: "mutex").first?.int("pshared") == 1)
            #expect(trace.calls("sem_destroy", by: "p1", on: "mutex").first?.result == 0)
        }
        #expect(trace.semaphoreWaits(on: "mutex").count == 6)
        #expect(trace.semaphorePosts(on: "mutex").count == 6)
        #expect(Set(values(trace, "mutex")).isSubset(of: [0, 1]), "\(values(trace, "mutex"))")
        // Some wait found 0 (value_before) and blocked for about a holder's 20 ms.
        #expect(trace.semaphoreWaits(on: "mutex").contains { $0.int("value_before") == 0 && ($0.blockedNs ?? 0) > 5_000_000 })
        // At some moment the snapshot names who was inside a wait.
        let waiters = trace.snapshots(of: "mutex").compactMap { $0.label("waiters") }.filter { !$0.isEmpty }
        #expect(!waiters.isEmpty)
        #expect(waiters.allSatisfy { $0.split(separator: ",").allSatisfy { ["p1", "p2", "p3"].contains(String($0)) } }, "\(waiters)")
        // Every stay's room load read back the process's own name.
        for name in ["p1", "p2", "p3"] {
            #expect(trace.calls("load", by: name, on: "room").allSatisfy { $0.cString == name })
        }
    }

    @Test("sem.mutex on a SysV semaphore with 4 processes: semop −1/+1, and semctl's counts in the snapshots")
    func mutexSysV() async throws {
        let trace = try await run("sem.mutex", params: ["type": "sysv", "processes": 4, "rounds": 1, "hold_ms": 10])
        expectWentWell(trace)
        #expect(trace.calls("semget", on: "mutex").first.map { ($0.result ?? -1) >= 0 } == true, "\(describe(trace))")
        #expect(trace.calls("semop", on: "mutex").filter { $0.int("sem_op") == -1 }.count == 4)
        #expect(trace.calls("semop", on: "mutex").filter { $0.int("sem_op") == 1 }.count == 4)
        #expect(trace.calls("semctl", by: "p1", on: "mutex").last?.arg("cmd") == "IPC_RMID")
        let stats = trace.snapshots(of: "mutex").filter { $0.value("exists") != 0 }
        #expect(stats.allSatisfy { $0.value("ncnt") != nil && $0.value("zcnt") == 0 })
        // The kernel's own count of sleepers was above 0 at some point.
        #expect(stats.contains { ($0.value("ncnt") ?? 0) > 0 }, "\(describe(trace))")
        #expect(trace.snapshots(of: "mutex").last?.value("exists") == 0, "after IPC_RMID GETVAL fails")
    }

    @Test("sem.mutex with initial value 2: two processes inside at once, and exclusive says holds false with evidence")
    func mutexValueTwo() async throws {
        let trace = try await run("sem.mutex", params: ["value": 2, "hold_ms": 30])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(values(trace, "mutex").contains(2))
        let exclusive = try observation(trace, "sem.mutex.exclusive")
        #expect(exclusive.holds == false, "\(exclusive.detail)")
        #expect(!exclusive.evidence.isEmpty)
        #expect(exclusive.detail.contains("inside together") || exclusive.detail.contains("read back"), "\(exclusive.detail)")
    }

    @Test("sem.mutex with one process: nobody waits, and waiters_slept says holds false")
    func mutexAlone() async throws {
        let trace = try await run("sem.mutex", params: ["processes": 1, "rounds": 3, "hold_ms": 0])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(try observation(trace, "sem.mutex.exclusive").holds)
        let slept = try observation(trace, "sem.mutex.waiters_slept")
        #expect(slept.holds == false)
        #expect(slept.detail.contains("no one had to wait"), "\(slept.detail)")
        #expect(trace.semaphoreWaits(on: "mutex").allSatisfy { $0.int("value_before") == 1 })
    }

    // MARK: sem.fruit_plate

    @Test("sem.fruit_plate: father, mother, son, daughter; who waited on which semaphore reads from the trace",
          arguments: ["posix_named", "sysv", "posix_unnamed"])
    func fruitPlate(_ type: String) async throws {
        let trace = try await run("sem.fruit_plate", params: ["type": .string(type)])
        // Whether a parent finds the plate full, or a child finds no fruit yet, depends on scheduling (on a
        // busy machine a child may start after its fruit was put): those observations must agree with what
        // the waits show; every other must hold.
        expectWentWell(trace, scheduling: ["sem.fruit_plate.parents_wait_for_space", "sem.fruit_plate.children_wait_for_fruit"])
        expectParentsWaitAgrees(trace)
        #expect(trace.processes.map(\.name) == ["father", "mother", "son", "daughter"])
        #expect(trace.scenario.channels.map(\.name) == ["plate", "s1", "s2", "s3"])
        #expect(values(trace, "s1").first == 0 && values(trace, "s2").first == 0 && values(trace, "s3").first == 1)
        // A child's first wait that found 0 slept until its parent posted (the parents peel for 30 ms first),
        // and as it began the snapshot named the child among those waiting on its semaphore.
        for (child, semaphore) in [("son", "s1"), ("daughter", "s2")] {
            let first = try #require(trace.semaphoreWaits(on: semaphore, by: child).first, "\(describe(trace))")
            guard first.int("value_before") == 0 else { continue }
            #expect(trace.sleptUntilPost(on: semaphore, by: child).contains { $0.wait.seq == first.seq }, "\(describe(trace))")
            #expect(trace.snapshots(of: semaphore).contains { $0.seq == first.seq && ($0.label("waiters") ?? "").contains(child) })
        }
        let slept = !trace.sleptUntilPost(on: "s1", by: "son").isEmpty && !trace.sleptUntilPost(on: "s2", by: "daughter").isEmpty
        let children = trace.observations.first { $0.id == "sem.fruit_plate.children_wait_for_fruit" }
        #expect(children?.holds == slept, "\(children?.detail ?? "missing")")
        // Only the mother posts s1, only the father s2, only the children s3.
        #expect(Set(trace.semaphorePosts(on: "s1").map(\.process)) == ["mother"])
        #expect(Set(trace.semaphorePosts(on: "s2").map(\.process)) == ["father"])
        #expect(Set(trace.semaphorePosts(on: "s3").map(\.process)) == ["son", "daughter"])
        #expect(trace.calls("load", by: "son", on: "plate").map(\.cString) == ["pear", "pear"])
        #expect(trace.calls("load", by: "daughter", on: "plate").map(\.cString) == ["apple", "apple"])
        #expect(Set(values(trace, "s3")).isSubset(of: [0, 1]))
    }

    @Test("sem.fruit_plate with three rounds and quick eaters: every fruit reaches the right child")
    func fruitPlateRounds() async throws {
        let trace = try await run("sem.fruit_plate", params: ["rounds": 3, "peel_ms": 20, "eat_ms": 40])
        expectWentWell(trace)
        #expect(trace.calls("store", on: "plate").count == 6)
        #expect(trace.calls("load", by: "son", on: "plate").map(\.cString) == ["pear", "pear", "pear"])
        #expect(trace.calls("load", by: "daughter", on: "plate").map(\.cString) == ["apple", "apple", "apple"])
    }

    @Test("sem.fruit_plate with a plate of 2: no parent waits for space, and the observation says holds false")
    func fruitPlateTwoSlots() async throws {
        let trace = try await run("sem.fruit_plate", params: ["plate_size": 2])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(values(trace, "s3").first == 2)
        let parents = try observation(trace, "sem.fruit_plate.parents_wait_for_space")
        // Two slots let both parents put without waiting; a parent may still find s3 at 0 in a later
        // round. Whatever happened, the observation says what the trace shows.
        expectParentsWaitAgrees(trace)
        if !parents.holds { #expect(parents.detail.contains("s3 started at 2"), "\(parents.detail)") }
        #expect(trace.observations.map(\.id) == Catalog.standard.preset("sem.fruit_plate")?.experiment.observations)
    }

    // MARK: sem.producer_consumer

    @Test("sem.producer_consumer: 8 items through 3 slots in order; the producer sleeps on empty when full",
          arguments: ["posix_unnamed", "sysv", "posix_named"])
    func producerConsumer(_ type: String) async throws {
        let trace = try await run("sem.producer_consumer", params: ["type": .string(type)])
        expectWentWell(trace)
        #expect(trace.calls("load", by: "consumer", on: "buffer").map(\.cString) == (1...8).map { "item \($0)" })
        #expect(values(trace, "empty").first == 3 && values(trace, "full").first == 0 && values(trace, "mutex").first == 1)
        #expect(values(trace, "empty").allSatisfy { (0...3).contains($0) })
        #expect(values(trace, "full").allSatisfy { (0...3).contains($0) })
        #expect(trace.semaphoreWaits(on: "empty", by: "producer").contains { $0.int("value_before") == 0 })
    }

    @Test("sem.producer_consumer with room for every item: the producer never waits, and the observation says so")
    func producerConsumerRoomy() async throws {
        let trace = try await run("sem.producer_consumer", params: ["items": 12, "slots": 16, "consumer_ms": 2])
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.calls("load", by: "consumer", on: "buffer").count == 12)
        #expect(try observation(trace, "sem.producer_consumer.all_in_order").holds)
        #expect(try observation(trace, "sem.producer_consumer.never_overfull").holds)
        let waits = try observation(trace, "sem.producer_consumer.producer_waits_when_full")
        #expect(waits.holds == false)
        #expect(waits.detail.contains("never filled"), "\(waits.detail)")
    }

    /// `parents_wait_for_space` holds exactly when a parent's wait on s3 found 0 and a child's post on s3
    /// began while that wait was in the kernel (the rule written again, from the events alone).
    private func expectParentsWaitAgrees(_ trace: Trace, sourceLocation: SourceLocation = #_sourceLocation) {
        let posts = trace.semaphorePosts(on: "s3").filter { $0.process == "son" || $0.process == "daughter" }
        let waited = trace.semaphoreWaits(on: "s3").filter { w in
            (w.process == "father" || w.process == "mother") && w.int("value_before") == 0 && w.result == 0
                && posts.contains { p in w.tNs < p.tNs && p.tNs < (w.endNs ?? .min) }
        }
        let o = trace.observations.first { $0.id == "sem.fruit_plate.parents_wait_for_space" }
        #expect(o?.holds == !waited.isEmpty, "\(o?.detail ?? "missing")", sourceLocation: sourceLocation)
    }
}
