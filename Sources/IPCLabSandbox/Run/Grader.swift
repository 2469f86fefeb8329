import Foundation
import IPCLabCore

/// Runs a grade: `repeat` runs of one request, each with its own schedule, graded by the checks.
///
/// The calling thread always takes part, so a grade finishes even when no helper can be had;
/// `helper` may start more workers (the server's run executor, the CLI's threads), each taking the
/// next run not yet started. Runs therefore finish in any order; the report does not depend on it.
public final class Grader: @unchecked Sendable {
    private let request: GradeRequest
    private let runner: LabRunner
    private let lock = NSCondition()
    private var next = 0
    private var working = 0
    private var report: GradeReport
    private var failure: LabError?
    private var stopped = false
    private let onRun: @Sendable (Int, Trace) -> Bool
    private let runOne: @Sendable (RunRequest) -> Result<Trace, LabError>

    /// - Parameters:
    ///   - onRun: told of each finished run (on the thread that ran it, under no lock the grade
    ///     holds); returning false stops the grade (no one is listening any more).
    ///   - around: runs one request (default: `runner.run`); the server wraps it to count the run.
    public init(_ request: GradeRequest, runner: LabRunner,
                around: (@Sendable (RunRequest) -> Result<Trace, LabError>)? = nil,
                onRun: @escaping @Sendable (Int, Trace) -> Bool = { _, _ in true }) {
        self.request = request
        self.runner = runner
        self.onRun = onRun
        runOne = around ?? { r in Result { () throws(LabError) in try runner.run(r) } }
        report = GradeReport(checks: request.checks, schedule: request.schedule)
    }

    /// Runs the grade with at most `workers` runs at once; `helper` is asked to run a worker
    /// `workers - 1` times and answers whether it will (it may start it late, or never).
    /// Throws the first error a run threw (the spawner is unavailable); nothing else fails a grade.
    public func run(workers: Int, helper: (@escaping @Sendable () -> Void) -> Bool) throws(LabError) -> GradeReport {
        let start = ContinuousClock.now
        for _ in 1..<max(1, min(workers, request.repeatCount)) {
            if !helper({ [self] in work() }) { break }
        }
        work()
        lock.lock()
        // Helpers that took a run finish it; a helper that starts after the last run was taken
        // finds nothing to do.
        while working > 0 { lock.wait() }
        let (report, failure) = (self.report, self.failure)
        stopped = true
        lock.unlock()
        if let failure { throw failure }
        var done = report
        let elapsed = ContinuousClock.now - start
        done.durationMs = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        return done
    }

    /// Takes runs until none is left.
    private func work() {
        while true {
            lock.lock()
            guard !stopped, failure == nil, next < request.repeatCount else {
                lock.unlock()
                return
            }
            let index = next
            next += 1
            working += 1
            lock.unlock()
            let outcome = runOne(request.runRequest(index))
            var keepGoing = true
            if case .success(let trace) = outcome { keepGoing = onRun(index, trace) }
            lock.lock()
            switch outcome {
            case .success(let trace): report.add(run: index, trace: trace)
            case .failure(let error): if failure == nil { failure = error }
            }
            if !keepGoing { stopped = true }
            working -= 1
            lock.broadcast()
            lock.unlock()
        }
    }
}
