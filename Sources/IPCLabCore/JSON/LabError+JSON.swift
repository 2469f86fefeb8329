extension LabError {
    /// The error as the stream lines carry it: `{"code", "message", "path"}` (`path` null when none).
    func write(to w: inout JSONWriter) {
        w.errorObject(code: code.rawValue, message: message, path: path)
    }

    /// `{"type":"error","error":{…}}` and `\n`: the last line of a streamed run or grade that
    /// could not finish (``RunStreamLine/error(_:)``, ``GradeStreamLine/error(_:)``).
    public func streamLine() -> [UInt8] {
        JSONWriter.streamLine("error") { w in
            w.key("error"); write(to: &w)
        }
    }
}

extension JSONWriter {
    /// The lab's error object, `{"code", "message", "path"}` (`path` null when none): what an
    /// error response holds under `error` and what a stream's error line carries.
    public mutating func errorObject(code: String, message: String, path: String?) {
        object { w in
            w.field("code", code)
            w.field("message", message)
            w.field("path", path)
        }
    }

    /// One line of an NDJSON stream (runs, grades): `{"type":type, …}` with the fields
    /// `fields` writes after `type`, compact, ending in `\n`.
    public static func streamLine(_ type: String, capacity: Int = 512, _ fields: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: capacity)
        w.object { w in
            w.field("type", type)
            fields(&w)
        }
        var bytes = w.bytes
        bytes.append(0x0A)
        return bytes
    }
}
