import Foundation
import IPCLabCore
import IPCLabSandbox

/// `POST /api/v1/grades`: a run repeated under perturbed schedules and graded by checks.
///
/// The grade takes one place on ``executor`` like a run (503 at once when it is full); its runs
/// go on that thread and on as many more of the executor's threads as it will lend, so a grade
/// never waits for threads it cannot have.
extension LabAPI {
    /// Answers `POST /api/v1/grades` (as JSON, as Gradescope's results.json, or streamed as NDJSON).
    func grade(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        let prepared = prepareGrade(request)
        guard case .success(let (gradeRequest, format)) = prepared else {
            if case .failure(let error) = prepared {
                metrics.rejected(reason: error.code.rawValue)
                respond(error.response)
            }
            return
        }
        let client = clients.client(of: request)
        if Self.wantsNDJSON(request) {
            guard format == "json" else {
                return respond(APIError(.invalidParameter, "a streamed grade (Accept: application/x-ndjson) ends with the JSON grade; leave out format=\(format)",
                                        path: "format").response)
            }
            return streamGrade(gradeRequest, client: client, respond: respond)
        }
        executor.respond(respond, client: client, errors: APIError.render, rejected: { metrics.rejected(reason: $0.rawValue) }) {
            do throws(LabError) {
                var report = try runGrade(gradeRequest, client: client) { _, _ in true }
                if let refusal = storeGrade(&report, gradeRequest) { return APIError(refusal).response }
                return format == "gradescope" ? .json(report.gradescopeJSON()) : .json(report.json())
            } catch {
                return APIError(error).response
            }
        }
    }

    /// The checks that need no run: the media type, `format`, the body.
    private func prepareGrade(_ request: HTTPRequest) -> Result<(GradeRequest, String), APIError> {
        guard request.mediaType == "application/json" else {
            return .failure(APIError(.unsupportedMediaType,
                                     "send the grade as JSON with Content-Type: application/json, not \(request.mediaType.map { "\"\($0)\"" } ?? "no Content-Type")"))
        }
        let format = request.query["format"] ?? "json"
        guard ["json", "gradescope"].contains(format) else {
            return .failure(APIError(.invalidParameter, "format must be \"json\" or \"gradescope\", not \"\(format)\"", path: "format"))
        }
        do {
            return .success((try GradeRequest.decode(request.body, catalog: catalog, maxima: runner.maxima), format))
        } catch {
            return .failure(APIError(error))
        }
    }

    /// Runs the grade on the calling thread (one of the executor's), lending its runs to more of them.
    /// The runs it lends out count as `client`'s, so a grade shares the run slots fairly too.
    private func runGrade(_ request: GradeRequest, client: String, onRun: @escaping @Sendable (Int, Trace) -> Bool) throws(LabError) -> GradeReport {
        let (metrics, runner) = (self.metrics, self.runner)
        // Each run of a grade counts in /metrics like any run.
        let grader = Grader(request, runner: runner, around: { run in
            metrics.countRun(experiment: run.experimentID) { outcome in
                do throws(LabError) {
                    let trace = try runner.run(run)
                    outcome = trace.run.outcome.rawValue
                    return .success(trace)
                } catch {
                    return .failure(error)
                }
            }
        }, onRun: onRun)
        let executor = self.executor
        return try grader.run(workers: executor.threadCount) { work in
            executor.submit(client: client, { _ in work() }, expired: {}) == nil
        }
    }

    /// The grade as NDJSON: a line per finished run, the grade last.
    private func streamGrade(_ request: GradeRequest, client: String, respond: @escaping HTTPResponder) {
        respondStreaming("grade", client: client, respond: respond) { body, _ in
            do throws(LabError) {
                var report = try runGrade(request, client: client) { index, trace in
                    body.write(GradeStreamLine.run(index, trace).ndjson()) && !body.isClosed
                }
                if let refusal = storeGrade(&report, request) {
                    body.write(GradeStreamLine.error(refusal).ndjson())
                } else {
                    body.write(GradeStreamLine.grade(report).ndjson())
                }
            } catch {
                body.write(GradeStreamLine.error(error).ndjson())
            }
            body.finish()
        }
    }
}
