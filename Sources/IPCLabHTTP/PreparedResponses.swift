import CMicroHTTPD
import Synchronization

/// libmicrohttpd responses built once for a body a handler answers with again and again (the
/// same `[UInt8]` storage, status and header fields: `/healthz` from ``HealthCache``), then
/// queued as they are. A response built per request costs a copy of the body, a header list
/// allocated and freed, and the response itself; a prepared one costs a lookup.
///
/// A body is known by its storage: a slot keeps the array, so while it is kept no other array
/// can live at that address, and no array sharing it can change it (copy on write). A body
/// seen once is only noted; seen again while noted, its response is built and kept. Only small
/// bodies are noted, in few slots, replaced oldest first (the noted ones before the prepared
/// ones, so that a stream of different bodies does not push out `/healthz`'s); a replaced response is destroyed
/// when the last request using it has queued it (``Prepared`` is reference counted, and
/// libmicrohttpd counts the connections it is queued on).
final class PreparedResponses: Sendable {
    /// One prepared libmicrohttpd response; destroyed with the last reference.
    final class Prepared: @unchecked Sendable {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { MHD_destroy_response(pointer) }
    }

    private struct Slot: @unchecked Sendable {
        var body: [UInt8]
        var status: Int
        var headers: [String: String]
        var prepared: Prepared?

        func holds(_ response: HTTPResponse, at address: UnsafeRawPointer) -> Bool {
            body.count == response.body.count && status == response.status.code
                && body.withUnsafeBytes { $0.baseAddress } == address && headers == response.headers
        }
    }

    /// Bodies larger than this are always built per request (and never kept).
    static let largestBody = 16 * 1024
    private static let notedCount = 4
    private static let preparedCount = 8
    private let slots = Mutex<[Slot]>([])

    init() {}

    /// The prepared response for `response`, building it with `build` on its second sighting;
    /// `nil` when it is to be built per request.
    func prepared(for response: HTTPResponse, build: (HTTPResponse) -> OpaquePointer?) -> Prepared? {
        guard response.stream == nil, !response.body.isEmpty, response.body.count <= Self.largestBody,
              let address = response.body.withUnsafeBytes({ $0.baseAddress }) else { return nil }
        return slots.withLock { slots in
            guard let index = slots.firstIndex(where: { $0.holds(response, at: address) }) else {
                // Bodies seen once replace each other before they replace a prepared one.
                let noted = slots.indices.filter { slots[$0].prepared == nil }
                if noted.count >= Self.notedCount {
                    slots.remove(at: noted[0])
                } else if slots.count >= Self.notedCount + Self.preparedCount {
                    slots.removeFirst()
                }
                slots.append(Slot(body: response.body, status: response.status.code, headers: response.headers))
                return nil
            }
            if let prepared = slots[index].prepared { return prepared }
            guard let pointer = build(response) else { return nil }
            let prepared = Prepared(pointer)
            slots[index].prepared = prepared
            return prepared
        }
    }
}
