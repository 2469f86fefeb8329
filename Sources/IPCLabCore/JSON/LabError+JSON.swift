extension LabError {
    /// The error as the stream lines carry it: `{"code", "message", "path"}` (`path` null when none).
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("code", code.rawValue)
            w.field("message", message)
            w.field("path", path)
        }
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
