import Testing
@testable import IPCLabSandbox

/// The spawner's list of run inits cloned ahead of time: after a pause, those that share a runner image
/// with an earlier init are killed, and must leave the list first, or the next run would be handed to one.
@Suite("Ready inits")
struct ReadyInitTests {
    private func prepared(_ pid: Int32, sharesImage: Bool) -> Spawner.State.Prepared {
        Spawner.State.Prepared(pid: pid, control: -1, joined: CgroupPool.Attachment(pidsErrno: 0, memoryErrno: 0, ns: 0),
                               uid: 2_000_000_000, sharesImage: sharesImage)
    }

    @Test("freshen's inits to kill leave the ready list; the fresh ones stay, in order")
    func takeSharing() {
        var ready = [prepared(10, sharesImage: true), prepared(11, sharesImage: false),
                     prepared(12, sharesImage: true), prepared(13, sharesImage: false)]
        let taken = Spawner.State.takeSharing(from: &ready)
        #expect(taken.map(\.pid) == [10, 12])
        #expect(ready.map(\.pid) == [11, 13])
        #expect(!ready.contains { $0.sharesImage }, "a run must never be handed to an init that is being killed")
    }

    @Test("nothing to take: the list is left as it was")
    func nothingShared() {
        var ready = [prepared(20, sharesImage: false), prepared(21, sharesImage: false)]
        #expect(Spawner.State.takeSharing(from: &ready).isEmpty)
        #expect(ready.map(\.pid) == [20, 21])
    }
}
