import CIPCLab
import Foundation
import IPCLabCore

/// What a run's response holds in memory, for the response budget of ``RunExecutor``: a run
/// reserves what a trace of its `events` limit would hold before it starts, and keeps what its
/// trace really holds until the response is sent. Large traces are sent as JSON or text
/// pulled a piece at a time (``TraceChunks``), so the trace itself is what is held, never the
/// document; when such a response is done the allocator is asked to give the memory back.
extension LabAPI {
    /// Bytes one event costs the server at the peak of its run: the ring, the records read
    /// from it, the trace's event (measured on 262,144-event runs: see README).
    static let bytesPerEvent = 832
    /// Bytes one event of a built trace holds while its response is sent (its arguments and
    /// payload included; measured likewise).
    static let heldBytesPerEvent = 512
    /// Bytes a response holds besides its events.
    static let bytesPerResponse = 64 << 10
    /// Traces with at least this many events are sent pulled in pieces; smaller ones whole.
    static let streamedEvents = 2048

    /// Bytes one event costs at the peak of rendering Chrome's format (the run's records gone,
    /// the trace, the format's own values, the document; measured likewise).
    static let chromeBytesPerEvent = 1280

    /// The budget a run of `events` events may need while it runs and renders as `format`.
    static func responseCost(events: Int, format: String = "json") -> Int {
        bytesPerResponse + events * (format == "chrome" ? chromeBytesPerEvent : bytesPerEvent)
    }

    /// The budget a trace of `events` events holds while its response is sent.
    static func heldCost(events: Int) -> Int { bytesPerResponse + events * heldBytesPerEvent }

    /// The response for `trace` as `format`: when large, pulled in pieces (holding `reservation`
    /// until it is sent; JSON and text rendered as they go, Chrome's format rendered first),
    /// else whole (the reservation then given back).
    func traceResponse(_ trace: Trace, format: String, reservation: RunExecutor.Reservation) -> HTTPResponse {
        guard trace.events.count >= Self.streamedEvents else {
            defer { reservation.release() }
            switch format {
            case "text": return .text(trace.text())
            case "chrome": return .json(trace.chromeJSON())
            default: return .json(trace.json())
            }
        }
        if format == "chrome" {
            // Not cut between events: rendered whole, but handed out from this one copy (a whole
            // response would be copied by libmicrohttpd) and held in the budget until sent.
            let document = trace.chromeJSON()
            reservation.resize(to: Self.bytesPerResponse + document.count)
            var offset = 0
            let body = HTTPStreamingBody(pulling: {
                guard offset < document.count else { return nil }
                defer { offset = min(document.count, offset + (64 << 10)) }
                return Array(document[offset..<min(document.count, offset + (64 << 10))])
            }, onRelease: {
                reservation.release()
                Self.giveMemoryBack()
            })
            return .streaming(contentType: HTTPResponse.ContentType.json, body)
        }
        reservation.resize(to: Self.heldCost(events: trace.events.count))
        // What the run's decoding freed goes back now, not when the (slow) client has read all.
        Self.giveMemoryBack()
        var chunks = TraceChunks(trace, format: format == "text" ? .text : .json)
        let body = HTTPStreamingBody(pulling: { chunks.next() }, onRelease: {
            reservation.release()
            Self.giveMemoryBack()
        })
        let type = format == "text" ? HTTPResponse.ContentType.plainText : HTTPResponse.ContentType.json
        return .streaming(contentType: type, body)
    }

    /// Returns freed heap to the kernel: glibc keeps freed memory of its arenas for reuse,
    /// which after a burst of large traces leaves the server's RSS where the burst took it.
    static func giveMemoryBack() {
        _ = ipclab_malloc_trim()
    }
}
