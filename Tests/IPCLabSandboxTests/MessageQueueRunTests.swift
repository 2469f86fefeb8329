import Foundation
import Glibc
import IPCLabCore
import IPCLabSandbox
import Testing

/// The message-queue presets run for real, with their defaults and with other parameters: the
/// kernel's answers (and the observations) follow the parameters.
@Suite("Message queues: runs", .serialized)
struct MessageQueueRunTests {
    // MARK: mq.sysv

    @Test("mq.sysv: the seed's session — this, is, apple, end with type 5, received in order, then IPC_RMID")
    func sysvSession() async throws {
        let trace = try await run("mq.sysv")
        expectWentWell(trace)
        let sends = trace.queueSends(on: "q", by: "sender")
        #expect(sends.map(\.messageText) == ["this", "is", "apple", "end"], "\(describe(trace))")
        #expect(sends.allSatisfy { $0.result == 0 && $0.int(.mtype) == 5 })
        let got = trace.queueReceives(on: "q", by: "receiver")
        #expect(got.map(\.messageText) == ["this", "is", "apple", "end"])
        #expect(got.map(\.result) == [4, 2, 5, 3])
        #expect(got.allSatisfy { $0.int(.mtype) == 5 && $0.int(.msgtyp) == 5 && $0.int(.msgsz) == 128 })
        // Both processes found the same queue by key 1234.
        let gets = trace.calls(.messageQueues(.msgget), on: "q")
        #expect(gets.count == 2 && Set(gets.compactMap(\.result)).count == 1)
        #expect(gets.allSatisfy { $0.int(.key) == 1234 })
        let rmid = try #require(trace.calls(.messageQueues(.msgctl), by: "receiver", on: "q").first)
        #expect(rmid.string(.cmd) == "IPC_RMID" && rmid.result == 0)
        // msg_qnum and msg_qbytes after every send and receive — or, for a send that ran after
        // the receiver's IPC_RMID, what IPC_STAT answered then.
        let depths = trace.queueDepths(of: "q")
        for e in sends + got {
            let d = try #require(depths.first { $0.seq == e.seq }, "no IPC_STAT after seq \(e.seq)")
            if d.value("exists") == 0 {
                #expect(e.process == "sender" && ["EIDRM", "EINVAL"].contains(d.label("errno")), "\(d.labels)")
            } else {
                #expect(d.value("msg_qbytes") == 16384)
                #expect((0...4).contains(d.value("msg_qnum") ?? -1))
            }
        }
    }

    @Test("mq.sysv: msgtyp 0 takes messages in the order sent; msgtyp -2 the lowest types first")
    func sysvSelection() async throws {
        let fifo = try await run("mq.sysv", params: ["types": [3, 1, 2, 2], "msgtyp": 0, "receiver_delay_ms": 50])
        expectWentWell(fifo)
        #expect(fifo.queueReceives(on: "q").map(\.messageText) == ["this", "is", "apple", "end"], "\(describe(fifo))")

        let trace = try await run("mq.sysv", params: ["types": [1, 3, 2, 2], "msgtyp": -2, "receiver_delay_ms": 50], wallMs: 400)
        // "is" has type 3 > 2: it is never taken, but "end" (type 2) still stops the receiver.
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        #expect(trace.queueReceives(on: "q").map(\.messageText) == ["this", "apple", "end"])
        #expect(trace.queueReceives(on: "q").map(\.messageTag) == [1, 2, 2])
        let selected = try #require(trace.observations.first { $0.id == "mq.sysv.selected_by_type" })
        #expect(selected.holds, "\(selected.detail)")
        // "is" was still queued when the queue was removed.
        #expect(trace.queueDepths(of: "q").last { $0.value("msg_qnum") != nil }?.value("msg_qnum") == 1)
    }

    @Test("mq.sysv: a msgtyp no message has keeps the receiver waiting; the session observation says so")
    func sysvWrongType() async throws {
        let trace = try await run("mq.sysv", params: ["msgtyp": 3], wallMs: 3000)
        // Nobody is left to send a message of that type: the run's init ends it as a deadlock.
        #expect(trace.run.outcome == .deadlock, "\(describe(trace))")
        let last = try #require(trace.queueReceives(on: "q").last)
        #expect(!last.returned)
        let session = try #require(trace.observations.first { $0.id == "mq.sysv.session" })
        #expect(!session.holds)
        #expect(session.detail.contains("still waiting"), "\(session.detail)")
        #expect(session.detail.contains("4 message(s) left"), "\(session.detail)")
        #expect(!session.evidence.isEmpty)
        let selected = try #require(trace.observations.first { $0.id == "mq.sysv.selected_by_type" })
        #expect(selected.holds, "waiting while other types sit in the queue shows selection: \(selected.detail)")
    }

    // MARK: mq.posix

    @Test("mq.posix: messages leave highest priority first, oldest first within a priority; mq_curmsgs rises and falls")
    func posixPriorities() async throws {
        let trace = try await run("mq.posix")
        expectWentWell(trace)
        let got = trace.queueReceives(on: "q", by: "receiver")
        #expect(got.map(\.messageText) == ["urgent", "normal", "normal2", "low", "lowest"], "\(describe(trace))")
        #expect(got.map(\.messageTag) == [10, 5, 5, 1, 0])
        let depths = trace.queueDepths(of: "q")
        #expect(depths.first?.value("mq_maxmsg") == 10)
        #expect(depths.first?.value("mq_msgsize") == 128)
        #expect(got.compactMap { r in depths.first { $0.seq == r.seq }?.value("mq_curmsgs") } == [4, 3, 2, 1, 0])
        #expect(trace.calls(.messageQueues(.mqUnlink), by: "receiver").first?.result == 0)
    }

    @Test("mq.posix: equal priorities leave in send order, and the observation says the run does not show priority")
    func posixEqualPriorities() async throws {
        let trace = try await run("mq.posix", params: ["messages": "a b c", "priorities": [7]])
        #expect(trace.run.outcome == .ok)
        #expect(trace.queueReceives(on: "q").map(\.messageText) == ["a", "b", "c"])
        let order = try #require(trace.observations.first { $0.id == "mq.posix.highest_priority_first" })
        #expect(!order.holds)
        #expect(order.detail.contains("does not show"), "\(order.detail)")
        #expect(trace.observations.first { $0.id == "mq.posix.depth" }?.holds == true)
    }

    // MARK: mq.full

    @Test("mq.full: ten messages fill the queue; the eleventh mq_send waits for the receiver")
    func fullBlocks() async throws {
        let trace = try await run("mq.full")
        expectWentWell(trace)
        let sends = trace.queueSends(on: "q", by: "sender")
        #expect(sends.count == 11)
        #expect(sends.allSatisfy { $0.result == 0 })
        #expect((sends.last?.blockedNs ?? 0) > 50_000_000, "the last send waited for the receiver's 100 ms sleep")
        #expect(trace.queueDepths(of: "q").contains { $0.value("mq_curmsgs") == 10 })
        #expect(trace.calls(.messageQueues(.sysctl)).isEmpty, "10 needs no raise")
    }

    @Test("mq.full: 50 messages raise fs.mqueue.msg_max inside the run's IPC namespace only")
    func fullRaisesMsgMax() async throws {
        let host = try String(contentsOfFile: "/proc/sys/fs/mqueue/msg_max", encoding: .utf8)
        let trace = try await run("mq.full", params: ["max_messages": 50])
        expectWentWell(trace)
        let sysctl = try #require(trace.calls(.messageQueues(.sysctl)).first, "\(describe(trace))")
        #expect(sysctl.int(.old) == 10)
        #expect(sysctl.int(.new) == 50)
        #expect(sysctl.int(.now) == 50)
        #expect((sysctl.result ?? -1) > 0)
        #expect(trace.queueDepths(of: "q").first?.value("mq_maxmsg") == 50)
        #expect(trace.queueSends(on: "q").count == 51)
        #expect(try String(contentsOfFile: "/proc/sys/fs/mqueue/msg_max", encoding: .utf8) == host, "the host's msg_max is untouched")
    }

    @Test("mq.full: without raising msg_max, mq_open of 20 messages fails with EINVAL and the observations say why")
    func fullWithoutRaise() async throws {
        let trace = try await run("mq.full", params: ["max_messages": 20, "raise_msg_max": false])
        #expect(trace.run.outcome == .ok)
        let open = try #require(trace.calls(.messageQueues(.mqOpen)).first)
        #expect(open.result == -1 && open.errno == "EINVAL")
        let limits = try #require(trace.observations.first { $0.id == "mq.full.limits" })
        #expect(!limits.holds)
        #expect(limits.detail.contains("EINVAL") && limits.detail.contains("not raised"), "\(limits.detail)")
        #expect(trace.observations.allSatisfy { !$0.holds })
    }

    @Test("mq.full: non-blocking, the eleventh mq_send fails at once with EAGAIN")
    func fullNonblocking() async throws {
        let trace = try await run("mq.full", params: ["nonblocking": true, "reader_delay_ms": 20])
        expectWentWell(trace)
        let last = try #require(trace.queueSends(on: "q").last)
        #expect(last.errno == "EAGAIN" && last.result == -1)
        #expect((last.blockedNs ?? .max) < 20_000_000)
        #expect(trace.calls(.messageQueues(.mqSetattr), by: "sender").first?.string(.mqFlags) == "O_NONBLOCK")
        #expect(trace.queueReceives(on: "q").filter { $0.result == 64 }.count == 10)
    }

    // MARK: mq.boundaries

    @Test("mq.boundaries: a 5-byte buffer gets E2BIG, 15-byte buffers get exactly one 10-byte message each")
    func boundaries() async throws {
        let trace = try await run("mq.boundaries")
        expectWentWell(trace)
        let receives = trace.queueReceives(on: "q", by: "reader")
        #expect(receives.map(\.result) == [-1, 10, 10, 10, 10], "\(describe(trace))")
        #expect(receives.first?.errno == "E2BIG")
    }

    @Test("mq.boundaries: with MSG_NOERROR the 5-byte buffer cuts the message; both observations say false")
    func boundariesTruncated() async throws {
        let trace = try await run("mq.boundaries", params: ["truncate": true])
        #expect(trace.run.outcome == .ok)
        let receives = trace.queueReceives(on: "q", by: "reader")
        #expect(receives.map(\.result) == [5, 10, 10, 10, -1], "\(describe(trace))")
        #expect(receives.last?.errno == "ENOMSG", "the queue ran out: a message was lost")
        #expect(receives.first?.string(.msgflg) == "IPC_NOWAIT|MSG_NOERROR")
        #expect(trace.observations.map(\.holds) == [false, false])
    }

    @Test("mq.boundaries: other sizes — 7, 3, 11 into 20-byte buffers come out as 7, 3, 11")
    func boundariesOtherSizes() async throws {
        let trace = try await run("mq.boundaries", params: ["write_sizes": [7, 3, 11], "read_sizes": [2, 20, 20, 20]])
        expectWentWell(trace)
        #expect(trace.queueReceives(on: "q").map(\.result) == [-1, 7, 3, 11])
    }

    // MARK: mq.notify

    @Test("mq.notify: the sender's mq_send into the empty queue brings SIGUSR1 with SI_MESGQ and the sender's pid")
    func notify() async throws {
        let trace = try await run("mq.notify")
        expectWentWell(trace)
        let delivery = try #require(trace.deliveries(to: "receiver", of: .sigusr1).first, "\(describe(trace))")
        #expect(delivery.string(.siCode) == "SI_MESGQ")
        #expect(delivery.int(.siPid) == Int64(trace.process("sender")?.pid ?? -1))
        let send = try #require(trace.queueSends(on: "q", by: "sender").first)
        #expect(delivery.tNs >= send.tNs)
        #expect(trace.calls(.messageQueues(.mqNotify)).first?.string(.sigevSigno) == "SIGUSR1")
    }

    @Test("mq.notify: a queue that already holds a message brings no signal; SIGUSR2 works the same way")
    func notifyNotEmpty() async throws {
        let trace = try await run("mq.notify", params: ["prefill": 1])
        #expect(trace.run.outcome == .ok)
        #expect(trace.deliveries(to: "receiver").isEmpty)
        #expect(trace.observations.map(\.holds) == [false, false])
        #expect(trace.observations.first?.detail.contains("already held 1") == true, "\(trace.observations.first?.detail ?? "")")
        #expect(trace.queueReceives(on: "q").map(\.messageText) == ["early", "hello"])

        let usr2 = try await run("mq.notify", params: ["signal": "SIGUSR2", "sender_delay_ms": 5])
        expectWentWell(usr2)
        #expect(usr2.deliveries(to: "receiver", of: .sigusr2).count == 1)
    }

    // MARK: Custom scenarios

    @Test("a custom scenario: IPC_NOWAIT on an empty System V queue answers ENOMSG; a POSIX queue's mq_receive with a small buffer EMSGSIZE")
    func customErrors() async throws {
        let text = """
        {"channels": [{"name": "s", "kind": "message_queue", "api": "sysv", "key": 77},
                      {"name": "p", "kind": "message_queue", "api": "posix", "message_size": 64}],
         "processes": [{"name": "only", "steps": [
            {"op": "receive", "channel": "s", "nonblocking": true},
            {"op": "send", "channel": "p", "data": "hi"},
            {"op": "receive", "channel": "p", "size": 10},
            {"op": "receive", "channel": "p"}]}]}
        """
        let trace = try await run(scenario: text, wallMs: 1000)
        #expect(trace.run.outcome == .ok, "\(describe(trace))")
        let receives = trace.events.filter { $0.call == "msgrcv" || $0.call == "mq_receive" }
        #expect(receives.map(\.errno) == ["ENOMSG", "EMSGSIZE", nil])
        #expect(receives.last?.messageText == "hi")
    }
}
