import IPCLabCore
import Testing

/// The `shared_memory` channel and its steps: what decodes, what defaults apply, and every error
/// naming the path of the bad field.
@Suite("Shared memory validation")
struct SharedMemoryValidationTests {
    /// A two-process scenario with the given channels and steps (JSON object text).
    func scenario(_ channels: [String], parent: [String] = [], child: [String] = []) -> String {
        scenarioText(channels: channels, parent: parent, child: child)
    }

    // MARK: Channels

    @Test("each type decodes with its defaults: 4096 bytes, shared, /tmp/NAME with 'A' for ftok, /NAME for shm_open")
    func channelDefaults() throws {
        let s = try decodeScenario(scenario([
            #"{"name": "a", "kind": "shared_memory"}"#,
            #"{"name": "v", "kind": "shared_memory", "type": "sysv"}"#,
            #"{"name": "x", "kind": "shared_memory", "type": "posix", "size": 100, "mapping": "private"}"#,
        ]))
        #expect(s.channels.map(\.kind) == ["shared_memory", "shared_memory", "shared_memory"])
        #expect(s.channels[0].spec == .sharedMemory(SharedMemoryChannel(type: .anonymous, size: 4096, mapping: .shared)))
        #expect(s.channels[1].spec == .sharedMemory(SharedMemoryChannel(type: .sysv, size: 4096, ftokPath: "/tmp/v", ftokID: 65)))
        #expect(s.channels[2].spec == .sharedMemory(SharedMemoryChannel(type: .posix, size: 100, mapping: .private, shmName: "/x")))
        // A region is not a FIFO: it has no path of its own.
        #expect(s.channels.allSatisfy { $0.path == nil })
        // The expansion carries every default, and reads back to the same scenario.
        #expect(try Scenario.decode(s.json) == s)
        #expect(s.channels[1].json == ["name": "v", "kind": "shared_memory", "type": "sysv", "size": 4096, "ftok_path": "/tmp/v", "ftok_id": 65])
    }

    @Test("two channels naming one object (a POSIX name, or an ftok path and id) must give it one size")
    func oneObjectOneSize() throws {
        // The same size: two names for one object, as a scenario may mean.
        let same = try decodeScenario(scenario([
            #"{"name": "a", "kind": "shared_memory", "type": "posix", "shm_name": "/r", "size": 64}"#,
            #"{"name": "b", "kind": "shared_memory", "type": "posix", "shm_name": "/r", "size": 64}"#,
        ]))
        #expect(same.channels.count == 2)
        expectLabError(.invalidScenario, path: "scenario.channels[1].size", message: "shm_name \"/r\") with size 64") {
            try decodeScenario(scenario([
                #"{"name": "a", "kind": "shared_memory", "type": "posix", "shm_name": "/r", "size": 64}"#,
                #"{"name": "b", "kind": "shared_memory", "type": "posix", "shm_name": "/r", "size": 8192}"#,
            ]))
        }
        expectLabError(.invalidScenario, path: "scenario.channels[2].size", message: "ftok_path \"/tmp/k\", ftok_id 7") {
            try decodeScenario(scenario([
                #"{"name": "a", "kind": "shared_memory", "type": "sysv", "ftok_path": "/tmp/k", "ftok_id": 7, "size": 4096}"#,
                #"{"name": "b", "kind": "shared_memory", "type": "sysv", "ftok_path": "/tmp/k", "ftok_id": 8, "size": 100}"#,
                #"{"name": "c", "kind": "shared_memory", "type": "sysv", "ftok_path": "/tmp/k", "ftok_id": 7, "size": 100}"#,
            ]))
        }
        // A POSIX object and a System V segment are different objects, whatever their names.
        #expect(try decodeScenario(scenario([
            #"{"name": "a", "kind": "shared_memory", "type": "posix", "shm_name": "/k", "size": 64}"#,
            #"{"name": "k", "kind": "shared_memory", "type": "sysv", "size": 128}"#,
        ])).channels.count == 2)
    }

    @Test("an anonymous region may carry bytes the first process stores before forking")
    func initialBytes() throws {
        let s = try decodeScenario(scenario([#"{"name": "m", "kind": "shared_memory", "size": 8, "init": "1111"}"#]))
        #expect(s.channels[0].spec == .sharedMemory(SharedMemoryChannel(type: .anonymous, size: 8, initial: "1111")))
        expectLabError(.invalidScenario, path: "scenario.channels[0].init", message: "1…8 bytes") {
            try decodeScenario(scenario([#"{"name": "m", "kind": "shared_memory", "size": 8, "init": "123456789"}"#]))
        }
        expectLabError(.invalidScenario, path: "scenario.channels[0].init", message: "\"anonymous\"") {
            try decodeScenario(scenario([#"{"name": "m", "kind": "shared_memory", "type": "posix", "init": "1"}"#]))
        }
    }

    @Test("bad channel fields are named by path", arguments: [
        (#"{"name": "m", "kind": "shared_memory", "type": "mapped"}"#, "scenario.channels[0].type", "\"anonymous\", \"sysv\", \"posix\""),
        (#"{"name": "m", "kind": "shared_memory", "size": 0}"#, "scenario.channels[0].size", "1…1048576"),
        (#"{"name": "m", "kind": "shared_memory", "size": 1048577}"#, "scenario.channels[0].size", "1…1048576"),
        (#"{"name": "m", "kind": "shared_memory", "type": "sysv", "mapping": "private"}"#, "scenario.channels[0].mapping", "\"anonymous\" or \"posix\""),
        (#"{"name": "m", "kind": "shared_memory", "mapping": "public"}"#, "scenario.channels[0].mapping", "\"shared\", \"private\""),
        (#"{"name": "m", "kind": "shared_memory", "type": "sysv", "ftok_path": "/etc/passwd"}"#, "scenario.channels[0].ftok_path", "under /tmp/"),
        (#"{"name": "m", "kind": "shared_memory", "type": "sysv", "ftok_path": "/tmp/../etc"}"#, "scenario.channels[0].ftok_path", ".."),
        (#"{"name": "m", "kind": "shared_memory", "type": "sysv", "ftok_id": 128}"#, "scenario.channels[0].ftok_id", "1…127"),
        (#"{"name": "m", "kind": "shared_memory", "ftok_id": 3}"#, "scenario.channels[0].ftok_id", "\"sysv\""),
        (#"{"name": "m", "kind": "shared_memory", "type": "posix", "shm_name": "noslash"}"#, "scenario.channels[0].shm_name", "\"/\" followed by"),
        (#"{"name": "m", "kind": "shared_memory", "type": "posix", "shm_name": "/a/b"}"#, "scenario.channels[0].shm_name", "\"/\" followed by"),
        (#"{"name": "m", "kind": "shared_memory", "type": "posix", "shm_name": "/.."}"#, "scenario.channels[0].shm_name", "\"/\" followed by"),
        (#"{"name": "m", "kind": "shared_memory", "type": "sysv", "shm_name": "/m"}"#, "scenario.channels[0].shm_name", "\"posix\""),
    ])
    func badChannel(_ channel: String, _ path: String, _ message: String) {
        expectLabError(.invalidScenario, path: path, message: message) { try decodeScenario(scenario([channel])) }
    }

    @Test("an unknown field of a region is rejected")
    func unknownChannelField() {
        expectLabError(.unknownField, path: "scenario.channels[0].path") {
            try decodeScenario(scenario([#"{"name": "m", "kind": "shared_memory", "path": "/tmp/m"}"#]))
        }
    }

    // MARK: Steps

    @Test("every step decodes into what it says, with its defaults, and round-trips")
    func goodSteps() throws {
        let s = try decodeScenario(scenario(
            [#"{"name": "m", "kind": "shared_memory", "type": "sysv", "size": 4096}"#, #"{"name": "s", "kind": "semaphore"}"#],
            parent: [
                #"{"op": "attach", "channel": "m"}"#,
                #"{"op": "store", "channel": "m", "data": "hi"}"#,
                #"{"op": "load", "channel": "m", "offset": 1, "size": 4}"#,
                #"{"op": "store_int", "channel": "m", "offset": 8, "value": -5}"#,
                #"{"op": "load_int", "channel": "m", "offset": 8}"#,
                #"{"op": "store_pointer", "channel": "m", "offset": 16, "target": 256}"#,
                #"{"op": "load_pointer", "channel": "m", "offset": 16, "size": 3}"#,
                #"{"op": "increment", "channel": "m", "offset": 24, "times": 1000, "sync": "semaphore", "semaphore": "s"}"#,
                #"{"op": "increment", "channel": "m"}"#,
                #"{"op": "barrier", "channel": "m", "offset": 64, "count": 2}"#,
                #"{"op": "barrier", "channel": "m", "offset": 128, "count": 3, "spread": true}"#,
                #"{"op": "detach", "channel": "m"}"#,
                #"{"op": "shm_remove", "channel": "m"}"#,
                #"{"op": "lookup", "channel": "m"}"#,
            ],
            child: [#"{"op": "attach", "channel": "m", "address": 1073741824}"#]))
        #expect(s.processes[0].steps == [
            .attach(channel: "m"),
            .store(channel: "m", data: "hi"),
            .load(channel: "m", offset: 1, size: 4),
            .storeInt(channel: "m", offset: 8, value: -5),
            .loadInt(channel: "m", offset: 8),
            .storePointer(channel: "m", offset: 16, target: 256),
            .loadPointer(channel: "m", offset: 16, size: 3),
            .increment(channel: "m", offset: 24, times: 1000, sync: .semaphore, semaphore: "s", detail: 3),
            .increment(channel: "m", offset: 0, times: 1, sync: .none, detail: 3),
            .barrier(channel: "m", offset: 64, count: 2),
            .barrier(channel: "m", offset: 128, count: 3, spread: true),
            .detach(channel: "m"),
            .shmRemove(channel: "m"),
            .lookup(channel: "m"),
        ])
        #expect(s.processes[1].steps == [.attach(channel: "m", address: 0x4000_0000)])
        #expect(try Scenario.decode(s.json) == s)
        #expect(s.processes[0].steps.map(\.op) == ["attach", "store", "load", "store_int", "load_int", "store_pointer", "load_pointer",
                                                  "increment", "increment", "barrier", "barrier", "detach", "shm_remove", "lookup"])
    }

    @Test("an anonymous region is mapped from the start in every process; a posix one needs attach, and shm_unlink")
    func mappedFromTheStart() throws {
        let s = try decodeScenario(scenario(
            [#"{"name": "a", "kind": "shared_memory"}"#, #"{"name": "x", "kind": "shared_memory", "type": "posix"}"#],
            parent: [#"{"op": "store", "channel": "a", "data": "1111"}"#, #"{"op": "detach", "channel": "a"}"#],
            child: [#"{"op": "attach", "channel": "x"}"#, #"{"op": "shm_unlink", "channel": "x"}"#, #"{"op": "load", "channel": "x", "size": 1}"#]))
        #expect(s.processes[1].steps[1] == .shmUnlink(channel: "x"))
    }

    @Test("bad steps are named by path", arguments: [
        // Memory accesses need the region mapped in this process at that step.
        (#"{"op": "store", "channel": "v", "data": "x"}"#, "scenario.processes[0].steps[0].channel", "add {\"op\": \"attach\""),
        (#"{"op": "attach", "channel": "a"}"#, "scenario.processes[0].steps[0].channel", "needs no attach"),
        (#"{"op": "lookup", "channel": "a"}"#, "scenario.processes[0].steps[0].channel", "no name or key"),
        (#"{"op": "shm_remove", "channel": "a"}"#, "scenario.processes[0].steps[0].channel", "for a sysv region"),
        (#"{"op": "shm_unlink", "channel": "v"}"#, "scenario.processes[0].steps[0].channel", "(use shm_remove)"),
        (#"{"op": "store", "channel": "p", "data": "x"}"#, "scenario.processes[0].steps[0].channel", "works on a shared_memory channel"),
        (#"{"op": "store", "channel": "a", "offset": 4090, "data": "1234567"}"#, "scenario.processes[0].steps[0].offset", "goes past the end"),
        (#"{"op": "load", "channel": "a", "size": 0}"#, "scenario.processes[0].steps[0].size", "1…4096"),
        (#"{"op": "load", "channel": "a"}"#, "scenario.processes[0].steps[0].size", "is required"),
        (#"{"op": "store_int", "channel": "a", "offset": 4, "value": 1}"#, "scenario.processes[0].steps[0].offset", "multiple of 8"),
        (#"{"op": "store_int", "channel": "a", "value": 9007199254740992}"#, "scenario.processes[0].steps[0].value", "must be"),
        (#"{"op": "store_pointer", "channel": "a", "target": 4096}"#, "scenario.processes[0].steps[0].target", "0…4095"),
        (#"{"op": "increment", "channel": "a", "times": 0}"#, "scenario.processes[0].steps[0].times", "1…10000000"),
        (#"{"op": "increment", "channel": "a", "sync": "lock"}"#, "scenario.processes[0].steps[0].sync", "\"none\", \"atomic\", \"semaphore\""),
        (#"{"op": "increment", "channel": "a", "sync": "semaphore"}"#, "scenario.processes[0].steps[0].semaphore", "is required"),
        (#"{"op": "increment", "channel": "a", "semaphore": "s"}"#, "scenario.processes[0].steps[0].semaphore", "goes with"),
        (#"{"op": "increment", "channel": "a", "sync": "semaphore", "semaphore": "p"}"#, "scenario.processes[0].steps[0].semaphore", "not a semaphore"),
        (#"{"op": "increment", "channel": "a", "sync": "semaphore", "semaphore": "nope"}"#, "scenario.processes[0].steps[0].semaphore", "no channel"),
        (#"{"op": "increment", "channel": "a", "detail": 17}"#, "scenario.processes[0].steps[0].detail", "0…16"),
        (#"{"op": "store", "channel": "a", "data": ""}"#, "scenario.processes[0].steps[0].data", "1…4096 bytes"),
        (#"{"op": "attach", "channel": "v", "address": 4096}"#, "scenario.processes[0].steps[0].address", "65536…"),
        (#"{"op": "attach", "channel": "v", "address": 65537}"#, "scenario.processes[0].steps[0].address", "multiple of the page size"),
        (#"{"op": "detach", "channel": "v"}"#, "scenario.processes[0].steps[0].channel", "add {\"op\": \"attach\""),
        (#"{"op": "barrier", "channel": "a", "count": 0}"#, "scenario.processes[0].steps[0].count", "1…64"),
        (#"{"op": "barrier", "channel": "a"}"#, "scenario.processes[0].steps[0].count", "is required"),
        (#"{"op": "barrier", "channel": "a", "offset": 12, "count": 2}"#, "scenario.processes[0].steps[0].offset", "multiple of 8"),
        (#"{"op": "barrier", "channel": "a", "offset": 4000, "count": 64}"#, "scenario.processes[0].steps[0].offset", "goes past the end"),
        (#"{"op": "barrier", "channel": "a", "count": 2, "spread": 1}"#, "scenario.processes[0].steps[0].spread", "true or false"),
        (#"{"op": "load", "channel": "nope", "size": 1}"#, "scenario.processes[0].steps[0].channel", "no channel named"),
    ])
    func badStep(_ step: String, _ path: String, _ message: String) {
        let channels = [
            #"{"name": "a", "kind": "shared_memory"}"#, #"{"name": "v", "kind": "shared_memory", "type": "sysv"}"#,
            #"{"name": "p", "kind": "pipe"}"#, #"{"name": "s", "kind": "semaphore"}"#,
        ]
        expectLabError(.invalidScenario, path: path, message: message) { try decodeScenario(scenario(channels, parent: [step])) }
    }

    @Test("a detach unmaps: a later access, or a second detach, is an error; a new attach maps again")
    func detachThenAccess() throws {
        let channels = [#"{"name": "v", "kind": "shared_memory", "type": "sysv"}"#]
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[2].channel", message: "a detach before it unmapped") {
            try decodeScenario(scenario(channels, child: [
                #"{"op": "attach", "channel": "v"}"#, #"{"op": "detach", "channel": "v"}"#, #"{"op": "load_int", "channel": "v"}"#,
            ]))
        }
        expectLabError(.invalidScenario, path: "scenario.processes[0].steps[2].channel", message: "a detach before it unmapped") {
            try decodeScenario(scenario(channels, parent: [
                #"{"op": "attach", "channel": "v"}"#, #"{"op": "detach", "channel": "v"}"#, #"{"op": "detach", "channel": "v"}"#,
            ]))
        }
        // Attaching in one process does not map the region in another.
        expectLabError(.invalidScenario, path: "scenario.processes[1].steps[0].channel", message: "add {\"op\": \"attach\"") {
            try decodeScenario(scenario(channels, parent: [#"{"op": "attach", "channel": "v"}"#], child: [#"{"op": "load_int", "channel": "v"}"#]))
        }
        let again = try decodeScenario(scenario(channels, parent: [
            #"{"op": "attach", "channel": "v"}"#, #"{"op": "detach", "channel": "v"}"#, #"{"op": "attach", "channel": "v"}"#,
            #"{"op": "load_int", "channel": "v"}"#,
        ]))
        #expect(again.processes[0].steps.count == 4)
    }

    @Test("a step with a field of another op is rejected as unknown")
    func unknownStepField() {
        expectLabError(.unknownField, path: "scenario.processes[0].steps[0].size") {
            try decodeScenario(scenario([#"{"name": "a", "kind": "shared_memory"}"#], parent: [#"{"op": "store", "channel": "a", "data": "x", "size": 1}"#]))
        }
    }

    // MARK: Presets

    @Test("the catalog lists the six shm and three sem presets, and no op of the language is claimed by two families")
    func catalogAndOps() {
        let ids = Catalog.standard.experiments.map(\.id)
        #expect(ids.filter { $0.hasPrefix("shm.") } == ["shm.anonymous", "shm.private", "shm.sysv", "shm.posix", "shm.race", "shm.pointers"])
        #expect(ids.filter { $0.hasPrefix("sem.") } == ["sem.mutex", "sem.fruit_plate", "sem.producer_consumer"])
        #expect(Set(Step.ops).count == Step.ops.count, "an op in two families: \(Step.ops)")
        #expect(Set(ChannelSpec.kinds).count == ChannelSpec.kinds.count)
        for op in SharedMemoryStep.ops + SemaphoreStep.ops { #expect(Step.ops.contains(op)) }
    }

    @Test("preset parameters out of their words or bounds are invalid_parameter with a path", arguments: [
        ("shm.race", #"{"sync": "mutex"}"#, "params.sync"),
        ("shm.race", #"{"processes": 9}"#, "params.processes"),
        ("shm.race", #"{"increments": 0}"#, "params.increments"),
        ("shm.private", #"{"mapping": "public"}"#, "params.mapping"),
        ("shm.anonymous", #"{"size": 4}"#, "params.size"),
        // The notes' sizeof copy moves 8 bytes: the mapping must hold them, and they must not cut a character.
        ("shm.anonymous", #"{"size": 7, "parent_message": "a", "child_message": "b"}"#, "params.size"),
        ("shm.anonymous", #"{"parent_message": "1234567é"}"#, "params.parent_message"),
        ("shm.anonymous", #"{"copy": "memcpy"}"#, "params.copy"),
        ("shm.sysv", #"{"ftok_id": 200}"#, "params.ftok_id"),
        ("shm.posix", #"{"size": 3}"#, "params.size"),
        ("shm.pointers", #"{"type": "anonymous"}"#, "params.type"),
        ("shm.pointers", #"{"writer_address": 4097}"#, "params.writer_address"),
        ("shm.pointers", #"{"reader_address": 4096}"#, "params.reader_address"),
        ("shm.pointers", #"{"target": 3073}"#, "params.target"),
    ])
    func badParameters(_ id: String, _ params: String, _ path: String) {
        expectLabError(.invalidParameter, path: path) { try RunRequest.preset(id, params: try json(params)) }
    }

    @Test("shm.race expands to N processes at a barrier, each incrementing, the first waiting and loading the total")
    func raceExpansion() throws {
        let r = try RunRequest.preset("shm.race", params: ["processes": 3, "increments": 50, "sync": "semaphore"])
        let s = r.scenario
        #expect(s.channels.map(\.name) == ["counter", "mutex"])
        #expect(s.channel(named: "mutex")?.spec == .semaphore(SemaphoreChannel(type: .posixUnnamed, value: 1)))
        #expect(s.processes.map(\.name) == ["p1", "p2", "p3"])
        for p in s.processes {
            #expect(Array(p.steps.prefix(2)) == [
                .barrier(channel: "counter", offset: 64, count: 3, spread: true),
                .increment(channel: "counter", times: 50, sync: .semaphore, semaphore: "mutex", detail: 3),
            ])
        }
        #expect(Array(s.processes[0].steps.dropFirst(2)) == [.wait(process: "p2"), .wait(process: "p3"), .loadInt(channel: "counter")])
        #expect(try Scenario.decode(s.json) == s)
        let none = try RunRequest.preset("shm.race", params: nil).scenario
        #expect(none.channels.map(\.name) == ["counter"], "no mutex without sync: semaphore")
        #expect(none.processes.count == 2)
    }

    @Test("non-default parameters of every shm preset expand to scenarios the language accepts")
    func nonDefaultExpansions() throws {
        let requests: [(String, JSONValue)] = [
            ("shm.anonymous", ["parent_message": "abc", "child_message": "a longer message", "parent_sleep_ms": 0, "size": 17]),
            ("shm.private", ["mapping": "shared", "parent_sleep_ms": 5]),
            ("shm.sysv", ["message": "x", "size": 2, "ftok_id": 1, "remove": false]),
            ("shm.posix", ["unlink": false, "size": 100, "message": "m"]),
            ("shm.race", ["processes": 8, "increments": 1_000_000, "sync": "atomic"]),
            ("shm.pointers", ["type": "sysv", "writer_address": 0, "reader_address": 0, "target": 3000, "message": "n"]),
        ]
        for (id, params) in requests {
            let r = try RunRequest.preset(id, params: params)
            #expect(try Scenario.decode(r.scenario.json) == r.scenario, "\(id)")
        }
        let anonymous = try RunRequest.preset("shm.anonymous", params: ["child_message": "a longer message", "size": 17]).scenario
        #expect(anonymous.processes[0].steps[0] == .load(channel: "shmem", size: 17), "loads cover the longer message and its NUL")
        let noUnlink = try RunRequest.preset("shm.posix", params: ["unlink": false]).scenario
        #expect(!noUnlink.processes[1].steps.contains(.shmUnlink(channel: "region")))
        let keep = try RunRequest.preset("shm.sysv", params: ["remove": false]).scenario
        #expect(!keep.processes[0].steps.contains(.shmRemove(channel: "seg")))
    }
}
