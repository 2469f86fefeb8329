/// Reading `checks` from a request: every error is a 400 naming the bad field's path.
extension Check {
    /// Reads the `checks` array at `path`; ids must be unique.
    public static func decodeList(_ value: JSONValue?, at path: JSONPath, catalog: Catalog) throws(LabError) -> [Check] {
        guard let value else { return [] }
        guard case .array(let items) = value else {
            throw LabError(.invalidRequest, "must be an array of checks, not \(value.typeName)", path: path.description)
        }
        guard items.count <= maxCount else {
            throw LabError(.invalidRequest, "at most \(maxCount) checks, not \(items.count)", path: path.description)
        }
        var checks: [Check] = []
        var seen: Set<String> = []
        for (i, item) in items.enumerated() {
            let check = try decode(item, at: path.index(i), catalog: catalog)
            guard seen.insert(check.id).inserted else {
                throw LabError(.invalidRequest, "check id \"\(check.id)\" is used twice; ids must be unique",
                               path: path.index(i).key("id").description)
            }
            checks.append(check)
        }
        return checks
    }

    /// Reads one check object.
    public static func decode(_ value: JSONValue, at path: JSONPath, catalog: Catalog) throws(LabError) -> Check {
        var r = try JSONObjectReader(value, at: path, code: .invalidRequest)
        let id = try r.requiredString("id")
        guard !id.isEmpty, id.count <= 100 else { throw r.fail("id", "must be 1…100 characters") }
        let name = try r.string("name")
        let points = try r.int("points", in: 0...1_000) ?? 1
        let hint = try r.string("hint")
        let kindName = try r.requiredString("kind")
        let kind: Kind
        switch kindName {
        case "outcome":
            guard let outcome = try r.choice("is", Outcome.self) else { throw r.fail("is", "is required") }
            kind = .outcome(outcome)
        case "exit":
            let process = try r.requiredString("process")
            let code = try r.int("code", in: 0...255)
            var signal = try r.string("signal")
            if let given = signal {
                guard let parsed = Signal(parsing: given) else {
                    throw r.fail("signal", "must be a signal name such as \"SIGUSR2\", not \"\(given)\"")
                }
                signal = parsed.name
            }
            if (code == nil) == (signal == nil) { throw r.fail("code", "give \"code\" or \"signal\" (one of them)") }
            kind = .exit(process: process, code: code, signal: signal)
        case "call":
            let match = try CheckMatch.decode(try required(&r, "match"), at: path.key("match"))
            var min = 1
            var max: Int?
            if let count = r.value("count") {
                var c = try JSONObjectReader(count, at: path.key("count"), code: .invalidRequest)
                min = try c.int("min", in: 0...1_000_000) ?? 1
                max = try c.int("max", in: 0...1_000_000)
                try c.finish()
                if let max, max < min { throw c.fail("max", "must be at least min (\(min)), not \(max)") }
                if !c.has("min"), let max, max < 1 { min = 0 }
            }
            kind = .call(match, min: min, max: max)
        case "no_call":
            kind = .noCall(try CheckMatch.decode(try required(&r, "match"), at: path.key("match")))
        case "order":
            let first = try CheckMatch.decode(try required(&r, "first"), at: path.key("first"))
            let then = try CheckMatch.decode(try required(&r, "then"), at: path.key("then"))
            kind = .order(first: first, then: then)
        case "received":
            let process = try r.requiredString("process")
            let channel = try r.requiredString("channel")
            guard let items = try r.array("data") else { throw r.fail("data", "is required") }
            var data: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else {
                    throw LabError(.invalidRequest, "must be a string, not \(item.typeName)", path: path.key("data").index(i).description)
                }
                data.append(s)
            }
            kind = .received(process: process, channel: channel, data: data)
        case "observation":
            kind = .observation(try ObservationBinding.decode(&r, catalog: catalog))
        case "no_deadlock":
            kind = .noDeadlock
        case "stdout":
            let process = try r.requiredString("process")
            let contains = try r.requiredString("contains")
            // An empty string is in every output: a check that cannot fail.
            guard !contains.isEmpty, contains.utf8.count <= maxStdoutNeedle else {
                throw r.fail("contains", "must be 1…\(maxStdoutNeedle) bytes of text")
            }
            kind = .stdout(process: process, contains: contains)
        default:
            throw r.fail("kind", "must be one of \(Kind.names.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(kindName)\"")
        }
        try r.finish()
        return Check(id: id, name: name, points: points, hint: hint, kind: kind)
    }

    private static func required(_ r: inout JSONObjectReader, _ key: String) throws(LabError) -> JSONValue {
        guard let v = r.value(key) else { throw r.fail(key, "is required") }
        return v
    }
}
