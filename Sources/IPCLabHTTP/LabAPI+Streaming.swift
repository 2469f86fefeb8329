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

    /// Answers with an NDJSON stream that `work` writes (and finishes) on one of ``executor``'s
    /// threads, as `client`'s, holding `cost` of the response budget; 503 `unavailable` at once,
    /// as JSON, when the executor is full. Should the work wait too long for a thread, the
    /// stream's one line is an `unavailable` error (the 200 is already on its way). Runs and
    /// grades (`what`) stream alike.
    func respondStreaming(_ what: String, client: String, cost: Int = 0, respond: @escaping HTTPResponder,
                          _ work: @escaping @Sendable (HTTPStreamingBody, RunExecutor.Reservation) -> Void) {
        let body = HTTPStreamingBody()
        let refusedBy = executor.submit(client: client, cost: cost, { reservation in work(body, reservation) }, expired: {
            metrics.rejected(reason: RunExecutor.Rejection.queueWait.rawValue)
            body.write(LabError(.unavailable,
                "the server is busy: this \(what) waited too long for one of the run threads and was not started; try again in a second").streamLine())
            body.finish()
        })
        if let refusedBy {
            metrics.rejected(reason: refusedBy.rawValue)
            return respond(APIError(executor.refusal(refusedBy, client: client)).response)
        }
        respond(.streaming(contentType: HTTPResponse.ContentType.ndjson, body))
    }

    /// Runs a checked request on ``executor`` and answers with its lines as they come
    /// (``respondStreaming(_:client:cost:respond:_:)``). A client that leaves ends the run (it
    /// is killed) and releases the queue.
    func streamRun(_ runRequest: RunRequest, client: String, respond: @escaping HTTPResponder) {
        respondStreaming("run", client: client, cost: Self.responseCost(events: runRequest.limits.events),
                         respond: respond) { body, reservation in
            metrics.countRun(experiment: runRequest.experimentID) { outcome in
                do throws(LabError) {
                    let trace = try runner.run(runRequest, pollMs: Self.streamPollMs) { events in
                        for event in events {
                            for line in RunStreamLine.lines(for: event) where !body.write(line.ndjson()) { return false }
                        }
                        return !body.isClosed
                    }
                    outcome = trace.run.outcome.rawValue
                    reservation.resize(to: Self.heldCost(events: trace.events.count))
                    // The trace line comes once the run is stored, like a 200; a trace sent whole is
                    // rendered once, for the line and the store alike.
                    let json = trace.events.count < Self.streamedEvents ? trace.json() : nil
                    if let refusal = storeRun(trace, runRequest, json: json) {
                        body.write(refusal.streamLine())
                        body.finish()
                        reservation.release()
                    } else {
                        Self.pullTraceLine(trace, json: json, into: body, reservation: reservation)
                    }
                } catch {
                    body.write(error.streamLine())
                    body.finish()
                    reservation.release()
                }
            }
        }
    }

    /// The last line, `{"type":"trace","trace":…}`, pulled a piece of the trace at a time as
    /// the client reads (never one document in memory), and the body ended after it; the run's
    /// thread goes back at once, however slow the client, and `reservation` is held until sent.
    /// `json`: the trace already rendered whole (a small one), sent as one piece.
    static func pullTraceLine(_ trace: Trace, json: [UInt8]? = nil, into body: HTTPStreamingBody,
                              reservation: RunExecutor.Reservation) {
        var chunks = TraceChunks(trace, format: .json)
        var whole = json
        var part = TraceLinePart.head
        body.continuePulling({
            switch part {
            case .head:
                part = .trace
                return Array(#"{"type":"trace","trace":"#.utf8)
            case .trace:
                if let rendered = whole {
                    whole = nil
                    part = .tail
                    return rendered
                }
                if let chunk = chunks.next() { return chunk }
                fallthrough
            case .tail:
                part = .done
                return Array("}\n".utf8)
            case .done:
                return nil
            }
        }, onRelease: {
            reservation.release()
            giveMemoryBack()
        })
    }
}

/// Where ``LabAPI/pullTraceLine(_:json:into:reservation:)`` is in the line.
private enum TraceLinePart { case head, trace, tail, done }
