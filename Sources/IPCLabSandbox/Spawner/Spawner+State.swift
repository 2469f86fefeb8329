import CIPCLab
import Glibc

extension Spawner {
    /// The runs in flight, by run id.
    struct State {
        var runs: [UInt64: pid_t] = [:]
        var userNamespace = true
        /// The namespaces every run is cloned into besides user and network.
        var namespaces = Spawner.namespaces
        var networks = NetworkNamespacePool()
        var cgroups = CgroupPool()
        /// The host uid of each run.
        var uids: RunUidPool
        /// How runners are started.
        let image: SlotForker.Image
        /// The runner in no cgroup slot: it clones the inits of slots whose runner is gone (they move
        /// themselves in) and of hosts without cgroups. Started when first needed.
        var spareRunner: SlotForker?
        /// What the spawner keeps of each run until it is over, by the init's pid: the ring, to write
        /// the cgroups' evidence into, the completion pipe, closed only after that (the server reads
        /// the evidence once end of file says the run is over), and the init's control socket, on
        /// which it says done (-1 once it hung up). Over means: the init said done (``hear(from:)``),
        /// or, when it died without saying it (killed, OOM), it was reaped (``reap()``).
        var inFlight: [pid_t: InFlight] = [:]

        struct InFlight {
            var ringFD: Int32
            var doneFD: Int32
            var control: Int32
            var attachment: CgroupPool.Attachment
            /// The server's eventfd for the init's finish, while the spawner waits on it instead of the
            /// control socket (-1: it does not, or no more). A C runner's init says done on its socket
            /// and then adds 2 to this eventfd, one unit for the server and one for the spawner: one
            /// write wakes both, so neither wakes while the other holds the init's core, which the
            /// init still needs for the second of two wakeups (docs/performance.md).
            var finish: Int32 = -1
        }

        /// What to poll for the runs in flight whose init may still say done: its finish eventfd, or else
        /// its control socket.
        var listening: [(pid: pid_t, fd: Int32)] {
            inFlight.compactMap { pid, run in
                run.finish >= 0 ? (pid, run.finish) : run.control >= 0 ? (pid, run.control) : nil
            }
        }
        /// Inits of runs with TCP channels: only their namespaces can keep sockets in TIME_WAIT.
        var usedTCP: Set<pid_t> = []

        /// Run inits cloned ahead of time, each in its namespaces and cgroup slot, waiting for a run.
        var ready: [Prepared] = []
        /// The priority inits cloned ahead of time wait at, and runs run at.
        var priority = BackgroundPriority()
        /// The core the spawner keeps to, and the init of a run alone at its go; nil: none (``RunCore``).
        var runCore: RunCore?
        /// How many inits the spawner keeps ready.
        static let readyTarget = 2

        struct Prepared {
            var pid: pid_t
            /// The spawner's end of the init's control socket.
            var control: Int32
            var joined: CgroupPool.Attachment
            /// The run's host uid (and gid), which its root maps to.
            var uid: UInt32
            /// Cloned from a runner image that had cloned an init before (same address layout).
            var sharesImage: Bool
            /// Whether it was told its maps are written (it then sets up what depends on no run).
            var mapped = false
            /// Its nice value: ``BackgroundPriority/background`` when cloned ahead, until its run's go.
            var nice: Int32 = 0
            /// Kept to the run core since it was cloned (ahead): a lone run's go need not keep it again.
            var keptToRunCore = false
        }

        /// Once runs have paused: every ready init not yet told sets itself up now, so that the
        /// first run after the pause finds one set up.
        mutating func setUpWaiting() {
            for i in ready.indices { Self.signalMapped(&ready[i]) }
        }

        /// Lets an init set up what depends on no run (its id maps are written); a C runner's init then
        /// installs the run's last seccomp filter as well, unless `filterAtGo` (``SpawnMessage/filterAtGo``).
        static func signalMapped(_ p: inout Prepared, filterAtGo: Bool = false) {
            guard !p.mapped else { return }
            p.mapped = true
            var m = GoMessage(go: filterAtGo ? GoMessage.mappedFilterAtGo : GoMessage.mapped, uid: p.uid)
            _ = withUnsafeBytes(of: &m) { send(p.control, $0.baseAddress, $0.count, 0) }
        }

        init(uids: RunUidPool, image: SlotForker.Image) {
            self.uids = uids
            self.image = image
        }

        /// Whether fewer than ``readyTarget`` inits wait or are being cloned (made only while no run is in flight).
        var isShortOfInits: Bool { !cannotPrepare && ready.count + pendingClones.count < Self.readyTarget }
        /// Set when cloning an init ahead of time failed: no more tries while idle, until a run's own works.
        var cannotPrepare = false
        /// Inits asked of runners ahead of time whose answers have not been read yet (``PendingClone``),
        /// at most one per runner, oldest first.
        var pendingClones: [PendingClone] = []
        /// The pids reaped while clones were pending: an init killed before its answer was read would be
        /// among them (``finishPrepare(_:waiting:)``). Emptied when none is pending.
        var reapedWhilePending: Set<pid_t> = []

        /// Hands a run to a ready init (or one cloned now): its limits into its cgroup slot, then the
        /// ring over its control socket, kept open for the init's done. `finishFD`: the server's eventfd
        /// for the init's finish (-1: none), passed on to a C runner's init and closed here (a Swift
        /// init says nothing on it: the server then waits for the completion pipe alone).
        mutating func start(_ message: SpawnMessage, ringFD: Int32, doneFD: Int32, finishFD: Int32 = -1) {
            var kept = false
            var finishKept = false
            defer { if !kept { close(ringFD); close(doneFD) } }
            defer { if finishFD >= 0 && !finishKept { close(finishFD) } }
            // The oldest first: without a runner in its slot, it has had the longest to move itself in.
            // A C runner's ready init holds the run's last seccomp filter already: a run that needs it
            // installed at go gets an init of its own, cloned now and told so.
            let filterAtGo = message.filterAtGo != 0 && image.runnerExecutable != nil
            // An init asked for ahead of time is on its way: its answer, rather than another clone.
            if ready.isEmpty && !filterAtGo { awaitFirstClone() }
            var prepared = ready.isEmpty || filterAtGo ? nil : ready.removeFirst()
            if prepared == nil {
                let (made, failure) = prepare(ahead: false)
                guard let made else { return report(failure ?? SpawnFailure(stage: 1, errno: EAGAIN), to: doneFD) }
                prepared = made
                cannotPrepare = false
            }
            guard var runInit = prepared else { return }
            Self.signalMapped(&runInit, filterAtGo: filterAtGo)
            let pid = runInit.pid
            runs[message.runID] = pid
            if message.usesTCP != 0 { usedTCP.insert(pid) }
            var attachment = cgroups.configure(pid: pid, limits: message.limits)
            if attachment.pidsErrno == 0 { attachment.pidsErrno = runInit.joined.pidsErrno }
            if attachment.memoryErrno == 0 { attachment.memoryErrno = runInit.joined.memoryErrno }
            kept = true
            // Cloned ahead at the background priority: the run (every process is the init's child) has the server's.
            priority.restore(pid, from: runInit.nice)
            // The init of a run alone keeps to the spawner's core; beside others it has the sandbox's cores.
            // (One kept there since its clone is not kept again: a system call off the run's path.)
            if inFlight.isEmpty {
                if !runInit.keptToRunCore { runCore?.keep(pid) }
            } else if runInit.nice != priority.base {
                runCore?.leave(pid)
            }
            var go = GoMessage(go: 1, pidsErrno: attachment.pidsErrno, memoryErrno: attachment.memoryErrno, uid: runInit.uid)
            // The ring, and the server's finish eventfd for a C runner's init (which keeps it from the run's
            // processes): the completion pipe stays the spawner's alone, so no process of the run can end
            // it early or hold it open.
            let saysFinish = finishFD >= 0 && image.runnerExecutable != nil
            let fds = saysFinish ? [ringFD, finishFD] : [ringFD]
            let sent = withUnsafeBytes(of: &go) { buf in
                fds.withUnsafeBufferPointer { ipclab_send_with_fds(runInit.control, buf.baseAddress, buf.count, $0.baseAddress, Int32($0.count)) }
            }
            var control = runInit.control
            if sent != MemoryLayout<GoMessage>.size {
                // The init is gone: reap() will close the run's pipe, and the server sees an error.
                Glibc.kill(pid, SIGKILL)
                close(control)
                control = -1
            }
            finishKept = saysFinish && control >= 0
            inFlight[pid] = InFlight(ringFD: ringFD, doneFD: doneFD, control: control, attachment: attachment,
                                     finish: finishKept ? finishFD : -1)
            // With other runs going, the next init sets itself up now (the next run may come any moment);
            // a run alone leaves it for its done (``end(pid:done:)``): its mounts would take the kernel's mount
            // lock against this run's own set-up, on the other core, while this run is on its path.
            if inFlight.count > 1 && !ready.isEmpty { Self.signalMapped(&ready[0]) }
            // The init this run took is replaced now, while the run goes on: asked of a runner at the top
            // of the spawner's next turn (``prepareAhead()``; a lone run's replacement is cloned at
            // the background priority, and it sets itself up only once told, at this run's done).
            // Cloned at the done instead, a client posting back to back found none ready for its next
            // run (docs/performance.md, "The next init cloned at go").
            prepareSoon = true
            // A run alone: its init, kept to this core, runs now; this turn's rest waits until it blocks.
            if inFlight.count == 1 { runCore?.yieldToInit() }
        }

        /// Whether to ask for an init ahead of time now that a run has started or ended, so that a run posted
        /// back to back finds one waiting instead of waiting for a clone and its id maps (~0.4 ms). Only with
        /// what is at hand — a warm runner in a free slot, a pooled network namespace — never making a
        /// slot (its runner's move into the cgroup stalls every fork on the machine) or a namespace (a
        /// kernel-wide lock), which ``refill()`` does while idle. Such an init may come from a
        /// runner image that cloned before: ``freshen()`` drops it after a pause, as it does the runners.
        var canPrepareAhead: Bool { prepareSoon && canCloneAhead }

        /// Set when a run started (its init is replaced while it goes on) and when one ended (if the
        /// replacement is still missing): the next init is asked for at the spawner's next turn. Its
        /// set-up, the mounts, waits for a done (``signalMapped(_:filterAtGo:)``): not while a run sets
        /// itself up, as both would wait on the kernel's mount locks.
        var prepareSoon = false

        /// One step of getting ready while idle: fresh runner images, a network namespace, a cgroup
        /// slot, or a run init.
        mutating func refill() {
            // Runners take one request at a time: the pending clones' answers first (idle here).
            hearClones(waiting: true)
            if networks.refill() || cgroups.refill() { return }
            guard isShortOfInits else { return }
            // Ahead of time, only from a runner image that cloned nothing yet (else wait for one).
            let fresh = cgroups.available ? cgroups.hasFreshRunner : (spareRunner.map { $0.isWarm && !$0.isUsed } ?? true)
            guard fresh else { return }
            if case (let made?, _) = prepare() { ready.append(made) } else { cannotPrepare = true }
        }

        /// After a while with no run in flight: every runner that cloned since its last exec execs a
        /// fresh image, and ready inits that share an image with an earlier init are dropped (refill
        /// clones new ones from the fresh images), so the next run shares no address layout.
        mutating func freshen() {
            hearClones(waiting: true)
            cgroups.freshen()
            spareRunner?.reexec()
            for r in Self.takeSharing(from: &ready) {
                close(r.control) // it sees end of file and exits; reap() frees its slot and uid
                Glibc.kill(r.pid, SIGKILL)
                dropped.insert(r.pid)
            }
        }

        /// Takes the ready inits that share an image with an earlier init out of `ready` (the others keep
        /// their order). Out at once, before they are killed: a run handed to a killed init would fail,
        /// and its closed control descriptor's number may already belong to another socket.
        static func takeSharing(from ready: inout [Prepared]) -> [Prepared] {
            let sharing = ready.filter(\.sharesImage)
            ready.removeAll { $0.sharesImage }
            return sharing
        }

        /// Ready inits dropped by ``freshen()``, until reaped (their cgroup slots are freed then).
        var dropped: Set<pid_t> = []

        /// Whether ``freshen()`` has anything to do.
        var needsFreshening: Bool {
            cgroups.hasUsedRunners || spareRunner?.isUsed == true || ready.contains { $0.sharesImage }
        }

        /// When the last run started or ended (CLOCK_MONOTONIC, ms).
        var lastRunActivity: Int64 = 0

        mutating func kill(runID: UInt64) {
            if let pid = runs[runID] { Glibc.kill(pid, SIGKILL) }
        }

        /// Reaps finished inits without blocking.
        mutating func reap() {
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                guard pid > 0 else { return }
                if !pendingClones.isEmpty { reapedWhilePending.insert(pid) }
                if let id = runs.first(where: { $0.value == pid })?.key { runs[id] = nil }
                if let i = ready.firstIndex(where: { $0.pid == pid }) {
                    // A ready init died before its run (killed from outside): drop it.
                    close(ready[i].control)
                    ready.remove(at: i)
                }
                dropped.remove(pid)
                if pid == spareRunner?.pid { spareRunner = nil }
                // A run whose init died without saying done ends here, as every run did before done.
                end(pid: pid, done: false)
                // What the init held is freed only now that it is gone, not at its done: its slot (the
                // next run must not share counters and limits with a process still exiting), its network
                // namespace, and its uid (per-uid kernel limits: no other run gets it while it lives).
                cgroups.release(pid: pid)
                networks.release(pid: pid, checkSockets: usedTCP.remove(pid) != nil)
                // Every process of the run is gone (the kernel reaps PID 1 of a namespace last).
                uids.release(pid: pid)
            }
        }

        /// The init `pid` of a run in flight has something on its control socket: its done (the run is
        /// over, ``end(pid:done:)``), or end of file (it died without saying done: ``reap()`` ends the run).
        /// Or on its finish eventfd: the spawner's unit is taken, the eventfd left for the control socket
        /// (an init that adds more cannot keep the spawner busy), and the done it said before is read.
        mutating func hear(from pid: pid_t) {
            guard var run = inFlight[pid] else { return }
            if run.finish >= 0 {
                var unit: UInt64 = 0
                _ = read(run.finish, &unit, 8)
                close(run.finish)
                run.finish = -1
                inFlight[pid] = run
            }
            guard run.control >= 0 else { return }
            var message = GoMessage()
            let n = withUnsafeMutableBytes(of: &message) { recv(run.control, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            // A done is taken only when the kernel agrees: the init has no child left (at a true done it has
            // reaped every process of its run, and orphans of the run are reparented to it). A done said
            // while a process of the run lives is no done (SECURITY.md): the run ends at the init's reap.
            // The slot's pids cgroup counts the run's processes without a look into /proc (whose entries
            // the reap must then flush): the init's children list only where the cgroup cannot tell.
            if n == MemoryLayout<GoMessage>.size && message.go == GoMessage.done
                && (cgroups.initAlone(pid: pid, attachment: run.attachment) ?? !Self.hasChildren(pid)) {
                return end(pid: pid, done: true)
            }
            close(run.control)
            run.control = -1
            inFlight[pid] = run
        }

        /// Whether process `pid` has a child, from the kernel's list of its main thread's children. False
        /// when the file cannot be read: the process is gone (a run's PID 1 exits only after every process
        /// of its namespace), or the kernel lacks `CONFIG_PROC_CHILDREN` (then the done is taken on its own).
        static func hasChildren(_ pid: pid_t) -> Bool {
            let fd = open("/proc/\(pid)/task/\(pid)/children", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var byte: UInt8 = 0
            return read(fd, &byte, 1) == 1
        }

        /// The run of init `pid` is over (it said done, or it was reaped): the cgroups' evidence into its
        /// ring, then its completion pipe closed: end of file tells the server to read the trace.
        /// At done every process of the run is gone but the init, which exits right after: the counters
        /// are the same then as after its reap (a peak, counts of refusals and OOM kills: the init's exit
        /// adds to none of them).
        /// `done`: the init's done, taken (``RunEnded/marker``); else its reap (``RunEnded/reapedMarker``).
        mutating func end(pid: pid_t, done: Bool) {
            guard let run = inFlight.removeValue(forKey: pid) else { return }
            if run.finish >= 0 { close(run.finish) }
            var evidence = cgroups.evidence(pid: pid, attachment: run.attachment)
            _ = withUnsafeBytes(of: &evidence) { pwrite(run.ringFD, $0.baseAddress, $0.count, off_t(ipclab_ring_evidence_offset())) }
            close(run.ringFD)
            _ = (done ? RunEnded.marker : RunEnded.reapedMarker).withUnsafeBytes { Glibc.write(run.doneFD, $0.baseAddress, $0.count) }
            close(run.doneFD)
            if run.control >= 0 { close(run.control) }
            // The next init sets itself up while the server reads this trace and the client sends again.
            if !ready.isEmpty { Self.signalMapped(&ready[0]) }
            // And the one after it is asked for now if it was not at go, not once this init is reaped: by
            // then a client posting back to back has sent its next run (README, "Runners").
            prepareSoon = true
        }

        mutating func killAll() {
            hearClones(waiting: true)
            for r in ready {
                close(r.control)
                Glibc.kill(r.pid, SIGKILL)
                var s: Int32 = 0
                _ = waitpid(r.pid, &s, 0)
                cgroups.release(pid: r.pid)
            }
            ready = []
            for pid in dropped {
                var s: Int32 = 0
                _ = waitpid(pid, &s, 0)
                cgroups.release(pid: pid)
            }
            dropped = []
            for pid in runs.values { Glibc.kill(pid, SIGKILL) }
            for pid in runs.values {
                var s: Int32 = 0
                _ = waitpid(pid, &s, 0)
                end(pid: pid, done: false)
                cgroups.release(pid: pid)
            }
            runs = [:]
            spareRunner?.stop()
            spareRunner = nil
            cgroups.removeAll()
        }

        private func report(_ failure: SpawnFailure, to fd: Int32) {
            var f = failure
            _ = withUnsafeBytes(of: &f) { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }
}
