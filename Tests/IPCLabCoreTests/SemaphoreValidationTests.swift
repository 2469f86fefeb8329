import IPCLabCore
import Testing

/// The `semaphore` channel and its steps.
@Suite("Semaphore validation")
struct SemaphoreValidationTests {
    func scenario(_ channels: [String], parent: [String] = [], child: [String] = []) -> String {
        scenarioText(channels: channels, parent: parent, child: child)
    }

    @Test("each type decodes with its defaults: posix_named /NAME, value 1; sysv /tmp/NAME with 'S'")
    func channelDefaults() throws {
        let s = try decodeScenario(scenario([
            #"{"name": "m", "kind": "semaphore"}"#,
            #"{"name": "u", "kind": "semaphore", "type": "posix_unnamed", "value": 0}"#,
            #"{"name": "v", "kind": "semaphore", "type": "sysv", "value": 32767, "ftok_id": 7}"#,
            #"{"name": "n", "kind": "semaphore", "sem_name": "/plate.space"}"#,
        ]))
        #expect(s.channels.map(\.spec) == [
            .semaphore(SemaphoreChannel(type: .posixNamed, value: 1, semName: "/m")),
            .semaphore(SemaphoreChannel(type: .posixUnnamed, value: 0)),
            .semaphore(SemaphoreChannel(type: .sysv, value: 32767, ftokPath: "/tmp/v", ftokID: 7)),
            .semaphore(SemaphoreChannel(type: .posixNamed, value: 1, semName: "/plate.space")),
        ])
        #expect(try Scenario.decode(s.json) == s)
        #expect(s.channels[1].json == ["name": "u", "kind": "semaphore", "type": "posix_unnamed", "value": 0])
    }

    @Test("bad semaphore fields are named by path", arguments: [
        (#"{"name": "s", "kind": "semaphore", "type": "binary"}"#, "scenario.channels[0].type", "\"posix_named\", \"posix_unnamed\", \"sysv\""),
        (#"{"name": "s", "kind": "semaphore", "value": -1}"#, "scenario.channels[0].value", "0…32767"),
        (#"{"name": "s", "kind": "semaphore", "value": 32768}"#, "scenario.channels[0].value", "0…32767"),
        (#"{"name": "s", "kind": "semaphore", "type": "sysv", "sem_name": "/s"}"#, "scenario.channels[0].sem_name", "\"posix_named\""),
        (#"{"name": "s", "kind": "semaphore", "ftok_path": "/tmp/s"}"#, "scenario.channels[0].ftok_path", "\"sysv\""),
        (#"{"name": "s", "kind": "semaphore", "sem_name": "s"}"#, "scenario.channels[0].sem_name", "\"/\" followed by"),
        (#"{"name": "s", "kind": "semaphore", "type": "sysv", "ftok_path": "/dev/shm/s"}"#, "scenario.channels[0].ftok_path", "under /tmp/"),
    ])
    func badChannel(_ channel: String, _ path: String, _ message: String) {
        expectLabError(.invalidScenario, path: path, message: message) { try decodeScenario(scenario([channel])) }
    }

    @Test("the steps decode into P, V and the rest")
    func goodSteps() throws {
        let s = try decodeScenario(scenario(
            [#"{"name": "n", "kind": "semaphore"}"#, #"{"name": "v", "kind": "semaphore", "type": "sysv"}"#,
             #"{"name": "u", "kind": "semaphore", "type": "posix_unnamed"}"#],
            parent: [
                #"{"op": "sem_wait", "channel": "n"}"#, #"{"op": "sem_post", "channel": "n"}"#, #"{"op": "sem_trywait", "channel": "v"}"#,
                #"{"op": "sem_wait_zero", "channel": "v"}"#, #"{"op": "sem_unlink", "channel": "n"}"#, #"{"op": "sem_close", "channel": "n"}"#,
                #"{"op": "sem_remove", "channel": "v"}"#, #"{"op": "sem_remove", "channel": "u"}"#,
            ]))
        #expect(s.processes[0].steps == [
            .semWait("n"), .semPost("n"), .semTryWait("v"), .semWaitZero("v"), .semUnlink("n"), .semClose("n"), .semRemove("v"), .semRemove("u"),
        ])
        #expect(try Scenario.decode(s.json) == s)
    }

    @Test("steps that do not fit the semaphore's type are named by path", arguments: [
        (#"{"op": "sem_wait_zero", "channel": "n"}"#, "is for a sysv semaphore"),
        (#"{"op": "sem_unlink", "channel": "v"}"#, "(use sem_remove)"),
        (#"{"op": "sem_close", "channel": "u"}"#, "is for a posix_named semaphore"),
        (#"{"op": "sem_remove", "channel": "n"}"#, "(use sem_unlink)"),
        (#"{"op": "sem_post", "channel": "m"}"#, "works on a semaphore channel"),
        (#"{"op": "sem_wait", "channel": "nope"}"#, "no channel named"),
    ])
    func badStep(_ step: String, _ message: String) {
        let channels = [
            #"{"name": "n", "kind": "semaphore"}"#, #"{"name": "v", "kind": "semaphore", "type": "sysv"}"#,
            #"{"name": "u", "kind": "semaphore", "type": "posix_unnamed"}"#, #"{"name": "m", "kind": "shared_memory"}"#,
        ]
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].channel", message: message) {
            try decodeScenario(scenario(channels, child: [step]))
        }
    }

    @Test("a semaphore step takes no other field")
    func unknownField() {
        expectLabError(.unknownField, path: "scenario.processes[0].steps[0].timeout_ms") {
            try decodeScenario(scenario([#"{"name": "n", "kind": "semaphore"}"#], parent: [#"{"op": "sem_wait", "channel": "n", "timeout_ms": 5}"#]))
        }
    }

    @Test("semaphore preset parameters out of their words or bounds are invalid_parameter with a path", arguments: [
        ("sem.mutex", #"{"type": "futex"}"#, "params.type"),
        ("sem.mutex", #"{"processes": 0}"#, "params.processes"),
        ("sem.mutex", #"{"value": 9}"#, "params.value"),
        ("sem.fruit_plate", #"{"type": "named"}"#, "params.type"),
        ("sem.fruit_plate", #"{"rounds": 11}"#, "params.rounds"),
        ("sem.fruit_plate", #"{"plate_size": 0}"#, "params.plate_size"),
        ("sem.producer_consumer", #"{"items": 33}"#, "params.items"),
        ("sem.producer_consumer", #"{"slots": 0}"#, "params.slots"),
        ("sem.producer_consumer", #"{"type": 3}"#, "params.type"),
    ])
    func badParameters(_ id: String, _ params: String, _ path: String) {
        expectLabError(.invalidParameter, path: path) { try RunRequest.preset(id, params: try json(params)) }
    }

    @Test("sem.fruit_plate is father, mother, son and daughter around a plate with s1, s2 and s3")
    func fruitPlateExpansion() throws {
        let s = try RunRequest.preset("sem.fruit_plate", params: ["rounds": 1, "peel_ms": 0, "type": "sysv", "plate_size": 2]).scenario
        #expect(s.processes.map(\.name) == ["father", "mother", "son", "daughter"])
        #expect(s.channels.map(\.name) == ["plate", "s1", "s2", "s3"])
        #expect(s.channel(named: "s3")?.spec == .semaphore(SemaphoreChannel(type: .sysv, value: 2, ftokPath: "/tmp/s3", ftokID: 83)))
        #expect(s.processes[0].steps == [
            .sleep(ms: 0), .semWait("s3"), .store(channel: "plate", data: "apple\u{0}"), .semPost("s2"),
            .wait(process: "mother"), .wait(process: "son"), .wait(process: "daughter"),
        ])
        #expect(s.processes[1].steps == [.sleep(ms: 0), .semWait("s3"), .store(channel: "plate", data: "pear\u{0}"), .semPost("s1")])
        #expect(s.processes[2].steps == [.semWait("s1"), .load(channel: "plate", size: 6), .semPost("s3"), .sleep(ms: 60)])
        #expect(s.processes[3].steps == [.semWait("s2"), .load(channel: "plate", size: 6), .semPost("s3"), .sleep(ms: 60)])
        #expect(try Scenario.decode(s.json) == s)
    }

    @Test("sem.producer_consumer puts item i in slot i mod slots, within the step limit at its largest")
    func producerConsumerExpansion() throws {
        let s = try RunRequest.preset("sem.producer_consumer", params: ["items": 32, "slots": 5, "producer_ms": 1, "consumer_ms": 1]).scenario
        #expect(s.processes.allSatisfy { $0.steps.count <= Scenario.Bounds.steps.upperBound })
        let stores = s.processes[0].steps.compactMap { step -> Int? in
            if case .sharedMemory(.store(_, let offset, _)) = step { return offset }
            return nil
        }
        #expect(stores.count == 32)
        #expect(Array(stores.prefix(7)) == [0, 16, 32, 48, 64, 0, 16])
        #expect(try Scenario.decode(s.json) == s)
        let mutex = try RunRequest.preset("sem.mutex", params: ["processes": 8, "rounds": 10, "type": "posix_unnamed"]).scenario
        #expect(mutex.processes[0].steps.last == .semRemove("mutex"))
        #expect(try Scenario.decode(mutex.json) == mutex)
    }
}
