import CIPCLab
import Foundation
import IPCLabCore
import Logging

/// Runs scenarios in the sandbox and returns their traces: the one entry point the
/// HTTP layer and the `ipclab run` command share.
public final class LabRunner: Sendable {
    /// The spawner of Swift runners: every run, or with ``cSpawner`` every run without a flat plan.
    public let spawner: SpawnerClient
    /// The spawner of C runners (``RunImage/c``): every run whose scenario has a flat plan (``FlatPlan``).
    public let cSpawner: SpawnerClient?
    /// The largest value of each limit a request may ask for (the `--max-…` flags of `ipclab serve`).
    public let maxima: RunLimits
    /// The largest wall-clock limit a request may ask for.
    public var maxWallMs: Int { maxima.wallMs }
    /// Event rings kept between runs (wiped), so that a run does not make a new one.
    let rings = RingPool()
    /// Where each run's trace was read from its ring (``ReadAtFinish``).
    public let readings = TraceReadings()
    /// The flat plans of the scenarios run lately (nil: the scenario has none): the runs of a preset with
    /// the same parameters have the same plan, compiled once (~1.3 % of the server's CPU per run, perf).
    let flatPlans = RecentCache<FlatPlan.Source, [UInt8]?>(capacity: 16)

    public convenience init(spawner: SpawnerClient, cSpawner: SpawnerClient? = nil, maxWallMs: Int = 10_000) {
        var maxima = RunLimits.standardMaxima
        maxima.wallMs = maxWallMs
        self.init(spawner: spawner, cSpawner: cSpawner, maxima: maxima)
    }

    /// - Parameter cSpawner: a spawner of C runners (with a run uid range of its own: ``RunImage/split(_:)``).
    public init(spawner: SpawnerClient, cSpawner: SpawnerClient? = nil, maxima: RunLimits) {
        self.spawner = spawner
        self.cSpawner = cSpawner
        self.maxima = maxima
    }

    /// Runs one request. Sandbox failures come back as a trace with outcome `error`;
    /// a spawner that cannot be started, or that died during the run, throws (`unavailable`).
    public func run(_ request: RunRequest) throws(LabError) -> Trace {
        try run(request, pollMs: 0) { _ in true }
    }

    /// Runs one request like ``run(_:)`` and, while it runs, hands `watch` the trace events
    /// as they complete: it reads the run's ring every `pollMs` milliseconds (``RingReader``)
    /// and calls `watch` with what it found (also when nothing, so a watcher can give up),
    /// and once more when the run is over, for what came last and the calls that never
    /// returned. Every event of the trace is handed out exactly once (with a provisional
    /// `seq`). `watch` runs on the calling thread; when it returns false (no one is listening
    /// any more) the run is killed at once and the trace returned says so.
    public func run(_ request: RunRequest, pollMs: Int, watch: ([TraceEvent]) -> Bool) throws(LabError) -> Trace {
        let (trace, ring, released) = try runReadingRing(request, pollMs: pollMs, keepsRecords: false, watch: watch)
        // The trace is built: the ring goes back to the pool, wiped, once no process of the run can reach it.
        if released { rings.give(ring) }
        return trace
    }

    /// ``run(_:pollMs:watch:)``, also answering the ring the trace was read from (tests corrupt copies of it);
    /// that ring is the caller's, never pooled.
    func runKeepingRing(_ request: RunRequest, pollMs: Int = 0, keepsRecords: Bool = true,
                        watch: ([TraceEvent]) -> Bool = { _ in true }) throws(LabError) -> (trace: Trace, ring: EventRing) {
        let (trace, ring, _) = try runReadingRing(request, pollMs: pollMs, keepsRecords: keepsRecords, watch: watch)
        return (trace, ring)
    }

    /// Runs `request` in a ring from the pool and builds its trace; `released`: no process of the run can
    /// reach the ring any more (``SpawnerClient/Completion/ringReleased``). Unless `keepsRecords`, the
    /// ring's record pages are freed as the trace is built from them.
    private func runReadingRing(_ request: RunRequest, pollMs: Int, keepsRecords: Bool, image: RunImage? = nil,
                                watch: ([TraceEvent]) -> Bool) throws(LabError) -> (Trace, EventRing, released: Bool) {
        let (spawner, plan) = route(request, image: image)
        // Wakes an idle spawner now, while the ring is made ready, rather than with the run's message.
        spawner.expectRun()
        // A program run's output comes back after its plan (ProgramOutput).
        let outputBytes = request.programs.map { ProgramOutput.capacity(programs: $0.count) } ?? 0
        let ring: EventRing
        do {
            // The participants' records, plus the reserve only the run's init may use.
            ring = try rings.take(capacity: UInt32(request.limits.events) + UInt32(IPCLAB_INIT_RESERVE), planCapacity: plan.count + outputBytes)
        } catch {
            throw LabError(.unavailable, "could not prepare the run's event ring: \(error)")
        }
        ring.writePlan(plan)
        let l = request.limits
        let limits = ipclab_run_limits(
            wall_ms: Int64(l.wallMs), cpu_ms: Int64(l.cpuMs), memory_bytes: Int64(l.memoryBytes),
            processes: Int64(l.processes), open_files: Int64(l.openFiles), file_bytes: Int64(l.fileBytes))
        ring.writeLimits(limits)
        // The spawner learns what it needs from the server, not from the plan.
        // A program may use TCP on the run's loopback (a server and a client): it gets a network namespace.
        let usesTCP = request.programs != nil || request.scenario.channels.contains { $0.kind == "tcp" }
        let runID = UInt64.random(in: 1...UInt64.max)
        let startedAt = Self.rfc3339Now()
        let completion: SpawnerClient.Completion
        let reader = pollMs > 0 ? RingReader(ring: ring, scenario: request.scenario, programs: request.programs != nil) : nil
        let traceID = Self.newTraceID()
        // The trace is read at the init's finish, while the spawner takes its done (``ReadAtFinish``).
        var atFinish: ReadAtFinish?
        do {
            completion = try spawner.execute(ring: ring, runID: runID, limits: limits, usesTCP: usesTCP,
                                             filterAtGo: FlatPlan.needsFilterAtGo(plan, fileBytes: limits.file_bytes),
                                             every: pollMs, tick: {
                guard let reader else { return true }
                return watch(reader.read())
            }, atFinish: reader != nil || request.programs != nil ? nil : {
                let header = ring.readHeader()
                atFinish = ReadAtFinish(trace: Self.trace(of: ring, request: request, runID: traceID, startedAt: startedAt, failure: nil),
                                        header: header)
            })
        } catch {
            throw LabError(.unavailable, error.reason)
        }
        // The spawner died while this run was in flight, and took the run down with it (unless
        // its init had already finished): no trace to give, but nothing wrong with the request.
        if let lost = completion.spawnerLost, ring.readHeader().outcome == IPCLAB_OUTCOME_RUNNING {
            throw LabError(.unavailable, "the sandbox's spawner process"
                + (lost > 0 ? " (pid \(lost))" : "") + " died during this run, which was ended with it; "
                + "a new spawner has been started: send the run again")
        }
        if let reader, !completion.cancelled {
            let last = reader.read(final: true)
            if !last.isEmpty { _ = watch(last) }
        }
        let failure = completion.failure?.description
            ?? (completion.cancelled ? "the run was stopped because no one was listening any more" : nil)
            ?? (completion.killedFromOutside ? "the run did not end within its wall-clock limit and was killed from outside" : nil)
        if let atFinish, failure == nil, completion.doneTaken,
           atFinish.holds(at: ring.readHeader(), limits: request.limits, capacity: ring.capacity) {
            // Read without freeing its pages: the ring is wiped whole when it goes back to the pool.
            readings.count(.atFinish)
            return (atFinish.trace, ring, completion.ringReleased)
        }
        readings.count(atFinish == nil ? .atEnd : .again)
        let trace = Self.trace(of: ring, request: request, runID: traceID,
                               startedAt: startedAt, failure: failure, releasingRecords: !keepsRecords)
        return (trace, ring, completion.ringReleased)
    }

    /// The trace of a run from its ring once the run is over: the one path from what a run wrote to
    /// what the server answers (the ring is hostile input: see ``EventRing``).
    /// With `releasingRecords`, the ring's record pages are freed as they are read (it cannot be read again).
    static func trace(of ring: EventRing, request: RunRequest, runID: String, startedAt: String, failure: String?,
                      releasingRecords: Bool = false) -> Trace {
        var builder = TraceBuilder(ring: ring, scenario: request.scenario, programs: request.programs != nil)
        builder.releasesRing = releasingRecords
        var trace = builder.build(.init(
            runID: runID, experiment: request.experimentID, startedAt: startedAt, limits: request.limits, failure: failure))
        if let programs = request.programs { ProgramResults.apply(to: &trace, ring: ring, programs: programs) }
        if let overwritten = Self.overwritten(trace, ring) {
            // The run wrote over its own trace records: what is left proves nothing. Each observation is
            // listed (graders key on the ids), with its claim, as not holding, and why; the claims come
            // from the observations of the trace without its events, which reads no record at all.
            var bare = trace
            bare.events = []
            bare.objects = []
            trace.observations = request.observe(bare).map {
                Observation(id: $0.id, claim: $0.claim, holds: false, evidence: [], detail: "not checked: \(overwritten)")
            }
        } else {
            trace.observations = request.observe(trace)
        }
        trace.run.schedule = request.schedule
        trace.checks = request.grade(trace)
        return trace
    }

    /// Why a run's records cannot be taken as evidence, when it overwrote them.
    private static func overwritten(_ trace: Trace, _ ring: EventRing) -> String? {
        if let corruption = ring.readHeader().corruption { return corruption }
        let n = trace.run.recordsRejected
        return n > 0 ? "the run overwrote its event ring: \(n) record(s) were out of range and left out" : nil
    }
}

extension LabRunner {
    /// Now as RFC 3339 UTC with milliseconds (`2026-12-06T05:09:22.912Z`), as Foundation's ISO 8601
    /// format style writes it, without its formatter (~10 µs a run, perf).
    static func rfc3339Now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return rfc3339(seconds: Int(now.tv_sec), milliseconds: Int(now.tv_nsec / 1_000_000))
    }

    /// `seconds` since 1970 and `milliseconds` (0…999) as RFC 3339 UTC with milliseconds.
    static func rfc3339(seconds: Int, milliseconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func put(_ n: Int, _ width: Int, then separator: Character?) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var n = max(0, n)
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(n / divisor % 10))
                n %= divisor
                divisor /= 10
            }
            if let separator { out.append(separator.asciiValue!) }
        }
        put(Int(parts.tm_year) + 1900, 4, then: "-")
        put(Int(parts.tm_mon) + 1, 2, then: "-")
        put(Int(parts.tm_mday), 2, then: "T")
        put(Int(parts.tm_hour), 2, then: ":")
        put(Int(parts.tm_min), 2, then: ":")
        put(Int(parts.tm_sec), 2, then: ".")
        put(milliseconds, 3, then: "Z")
        return String(decoding: out, as: UTF8.self)
    }

    /// A run's public id: 128 random bits from the system's CSPRNG as 32 hex digits, so that a
    /// stored run's address cannot be guessed (traces may hold students' work).
    static func newTraceID() -> String {
        var rng = SystemRandomNumberGenerator()
        return traceID(rng.next(), rng.next())
    }

    /// `high` then `low` as 16 lower-case hex digits each, zero-padded, written in place (no string per half).
    static func traceID(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 32) { out in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { digits in
                for (h, half) in [high, low].enumerated() {
                    for i in 0..<16 { out[h * 16 + i] = digits[Int(half >> UInt64(60 - 4 * i) & 15)] }
                }
            }
            return 32
        }
    }

    /// Runs `pipe.hello` once and reports what the sandbox really gave it: the
    /// namespaces and set-up operations in force. Servers call this at start.
    /// With C runners (``cSpawner``) it runs there, and once more on the Swift runners, which take every
    /// other run: the trace answered is the C runner's.
    public func selfTest() throws(LabError) -> Trace {
        let request = try RunRequest.preset("pipe.hello", params: nil)
        let images: [RunImage] = cSpawner == nil ? [.swift] : [.c, .swift]
        var first: Trace?
        for image in images {
            let (trace, ring, released) = try runReadingRing(request, pollMs: 0, keepsRecords: false, image: image) { _ in true }
            if released { rings.give(ring) }
            guard trace.run.outcome == .ok, trace.observations.allSatisfy(\.holds) else {
                let runner = cSpawner == nil ? "" : " (on the \(image == .c ? "C" : "Swift") runner)"
                throw LabError(.sandboxFailed, "the start-up self-test run\(runner) failed: \(trace.run.reason ?? "an observation did not hold")")
            }
            first = first ?? trace
        }
        return first!
    }
}
