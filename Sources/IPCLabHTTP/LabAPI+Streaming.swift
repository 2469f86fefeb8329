import Foundation
import IPCLabCore
import IPCLabSandbox

/// `POST /api/v1/runs` with `Accept: application/x-ndjson`: the run streamed as it happens
/// (``RunStreamLine``): an event line as soon as the ring holds the event complete, a
/// progress line for each `progress` event, and the whole trace last.
extension LabAPI {
    /// How often a streamed run's ring is read for new events.
    static let streamPollMs = 25

    /// Whether the request asks for the run as NDJSON: `Accept` names `application/x-ndjson`
    /// (with a quality above 0).
    static func wantsNDJSON(_ request: HTTPRequest) -> Bool {
        guard let accept = request.header("Accept") else { return false }
        return accept.split(separator: ",").contains { range in
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == HTTPResponse.ContentType.ndjson else { return false }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
    }

    /// Runs a checked request on ``executor`` and answers with its lines as they come; 503
    /// `unavailable` at once, as JSON, when the executor is full. A client that leaves ends
    /// the run (it is killed) and releases the queue.
    func streamRun(_ runRequest: RunRequest, respond: @escaping HTTPResponder) {
        let body = HTTPStreamingBody()
        let accepted = executor.submit {
            metrics.countRun(experiment: runRequest.experimentID) { outcome in
                do throws(LabError) {
                    let trace = try runner.run(runRequest, pollMs: Self.streamPollMs) { events in
                        for event in events {
                            for line in RunStreamLine.lines(for: event) where !body.write(line.ndjson()) { return false }
                        }
                        return !body.isClosed
                    }
                    outcome = trace.run.outcome.rawValue
                    // The trace line comes once the run is stored, like a 200.
                    body.write((storeRun(trace, runRequest).map(RunStreamLine.error) ?? RunStreamLine.trace(trace)).ndjson())
                } catch {
                    body.write(RunStreamLine.error(error).ndjson())
                }
            }
            body.finish()
        } expired: {
            // The 200 is already on its way: the refusal is the stream's last line.
            metrics.rejected(reason: RunExecutor.Rejection.queueWait.rawValue)
            body.write(RunStreamLine.error(LabError(.unavailable,
                "the server is busy: this run waited too long for one of the run threads and was not started; try again in a second")).ndjson())
            body.finish()
        }
        guard accepted else {
            metrics.rejected(reason: executor.refusalReason.rawValue)
            return respond(executor.refusal.response)
        }
        respond(.streaming(contentType: HTTPResponse.ContentType.ndjson, body))
    }
}
