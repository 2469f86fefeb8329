import CIPCLab
import IPCLabCore
@testable import IPCLabSandbox
import Testing

/// The C runner's validator (runner_plan.c) on the send, message-queue and socket ops and channels:
/// what the server compiles loads; each field broken alone, past a bound a participant relies on, is refused.
@Suite("C runner plan validation: send, message queues, sockets")
struct CRunnerPlanMessagesTests {
    typealias S = ipclab_plan_step
    typealias C = ipclab_plan_channel

    static func plan(_ json: String) throws -> [UInt8] {
        try FlatPlan.build(try Scenario.decode(try JSONValue.parse(Array(json.utf8))), schedule: nil).get()
    }

    @Test("compiled plans of every op, every variant and every preset of the families load; each broken field is refused")
    func brokenFields() throws {
        let every = try Self.plan(FlatPlanMessagesTests.everyOp)
        var valid = [every]
        for id in FlatPlanTests.cPresets where id.hasPrefix("mq.") || id.hasPrefix("socket.") {
            let preset = try #require(Catalog.standard.preset(id))
            valid.append(try FlatPlan.build(FlatPlanTests.presetScenario(preset), schedule: nil).get())
        }
        let h = CRunnerPlanTests.header(every)
        func step(_ i: Int) -> Int { Int(h.off_steps) + i * MemoryLayout<S>.size }
        func channel(_ i: Int) -> Int { Int(h.off_channels) + i * MemoryLayout<C>.size }
        // Steps of FlatPlanMessagesTests.everyOp: process "queues" 0…13, then "sockets" from 14.
        let send = step(0), sizedSend = step(1), receive = step(4), notify = step(8), setsockopt = step(15)
        let listen = step(20), recv = step(25), shutdown = step(28), untilFull = step(31), sendFD = step(33)
        let broken: [String: [UInt8]] = [
            "send with both calls": CRunnerPlanTests.with(every, at: send, as: S.self) { $0.flags |= UInt16(IPCLAB_PLAN_SEND_CALL_SEND | IPCLAB_PLAN_SEND_CALL_WRITE) },
            "send larger than 1 MiB": CRunnerPlanTests.with(every, at: sizedSend, as: S.self) { $0.n.0 = (1 << 20) + 1 },
            "send negative repeat": CRunnerPlanTests.with(every, at: send, as: S.self) { $0.n.1 = -1 },
            "send negative type": CRunnerPlanTests.with(every, at: send, as: S.self) { $0.n.2 = -1 },
            "send priority below -1": CRunnerPlanTests.with(every, at: send, as: S.self) { $0.n.3 = -2 },
            "send priority past MQ_PRIO_MAX": CRunnerPlanTests.with(every, at: send, as: S.self) { $0.n.3 = 32768 },
            "a queue op on a semaphore": CRunnerPlanTests.with(every, at: channel(0), as: C.self) { $0.kind = UInt8(IPCLAB_PLAN_CHANNEL_SEMAPHORE.rawValue) },
            "send flag of another op": CRunnerPlanTests.with(every, at: send, as: S.self) { $0.flags |= 0x10 },
            "receive past 64 KiB": CRunnerPlanTests.with(every, at: receive, as: S.self) { $0.n.0 = 65537 },
            "receive msgtyp past int32": CRunnerPlanTests.with(every, at: receive, as: S.self) { $0.n.2 = Int64(Int32.max) + 1 },
            "receive on a socket": CRunnerPlanTests.with(every, at: receive, as: S.self) { $0.channel = 3 },
            "mq_notify without a signal": CRunnerPlanTests.with(every, at: notify, as: S.self) { $0.sig = 0 },
            "option 10": CRunnerPlanTests.with(every, at: setsockopt, as: S.self) { $0.n.0 = 10 },
            "negative option value": CRunnerPlanTests.with(every, at: setsockopt, as: S.self) { $0.n.1 = -1 },
            "backlog past int": CRunnerPlanTests.with(every, at: listen, as: S.self) { $0.n.0 = Int64(Int32.max) + 1 },
            "recv past 1 MiB": CRunnerPlanTests.with(every, at: recv, as: S.self) { $0.n.0 = (1 << 20) + 1 },
            "recv on a queue": CRunnerPlanTests.with(every, at: recv, as: S.self) { $0.channel = 0 },
            "shutdown how 3": CRunnerPlanTests.with(every, at: shutdown, as: S.self) { $0.n.0 = 3 },
            "send_until_full past 1 MiB": CRunnerPlanTests.with(every, at: untilFull, as: S.self) { $0.n.0 = (1 << 20) + 1 },
            "send_fd data past the pool": CRunnerPlanTests.with(every, at: sendFD, as: S.self) { $0.n.2 = Int64(h.strings_length) },
            "send_fd data without its NUL": CRunnerPlanTests.with(every, at: sendFD, as: S.self) { $0.n.3 += 1 },
            "send_fd without a path": CRunnerPlanTests.with(every, at: sendFD, as: S.self) { $0.text = ipclab_plan_str(offset: 0, length: 0) },
            "unknown socket op": CRunnerPlanTests.with(every, at: recv, as: S.self) { $0.op = 0x080E },
            "sysv key 0": CRunnerPlanTests.with(every, at: channel(0), as: C.self) { $0.a = 0 },
            "sysv with flags": CRunnerPlanTests.with(every, at: channel(0), as: C.self) { $0.flags = 1 },
            "queue api 2": CRunnerPlanTests.with(every, at: channel(1), as: C.self) { $0.sub = 2 },
            "posix message size 8193": CRunnerPlanTests.with(every, at: channel(1), as: C.self) { $0.b = 8193 },
            "posix 1001 messages": CRunnerPlanTests.with(every, at: channel(1), as: C.self) { $0.a = 1001 },
            "posix name without its slash": CRunnerPlanTests.with(every, at: channel(1), as: C.self) { $0.path.offset += 1; $0.path.length -= 1 },
            "posix unknown flag": CRunnerPlanTests.with(every, at: channel(1), as: C.self) { $0.flags = 2 },
            "socket sub 7": CRunnerPlanTests.with(every, at: channel(3), as: C.self) { $0.sub = 7 },
            "tcp port 0": CRunnerPlanTests.with(every, at: channel(3), as: C.self) { $0.b = 0 },
            "udp port 65536": CRunnerPlanTests.with(every, at: channel(4), as: C.self) { $0.b = 65536 },
            "tcp address past 32 bits": CRunnerPlanTests.with(every, at: channel(3), as: C.self) { $0.a = 1 << 32 },
            "unix path relative": CRunnerPlanTests.with(every, at: channel(6), as: C.self) { $0.path.offset += 1; $0.path.length -= 1 },
            "unix path empty": CRunnerPlanTests.with(every, at: channel(6), as: C.self) { $0.path = ipclab_plan_str(offset: 0, length: 0) },
            "socket with flags": CRunnerPlanTests.with(every, at: channel(7), as: C.self) { $0.flags = 1 },
        ]
        let names = broken.keys.sorted()
        let answers = try CRunnerPlanTests.verdicts(valid + names.map { broken[$0]! })
        #expect(answers.count == valid.count + names.count)
        #expect(Array(answers.prefix(valid.count)) == Array(repeating: "Y", count: valid.count), "the compiled plans load")
        for (name, verdict) in zip(names, answers.dropFirst(valid.count)) {
            #expect(verdict == "N", "\(name): \(verdict)")
        }
    }
}
