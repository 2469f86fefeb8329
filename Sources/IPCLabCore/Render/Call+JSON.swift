extension Call {
    /// Every call's table entry, as `GET /api/v1/calls` serves it (schema `CallTable` in
    /// `openapi.yaml`): what graders can match in a trace's events.
    public static func tableJSON() -> [UInt8] {
        var w = JSONWriter(capacity: 32 * 1024)
        w.object { w in
            w.key("calls")
            w.array { w in
                for call in all { call.spec.write(to: &w) }
            }
        }
        return w.bytes
    }
}

extension CallSpec {
    func write(to w: inout JSONWriter) {
        w.object { w in
            w.field("family", family.rawValue)
            w.field("name", name)
            w.field("blocks", blocks)
            w.field("moves", moves?.rawValue)
            w.field("summary", summary)
            w.key("arguments")
            w.array { w in
                for a in arguments {
                    w.object { w in
                        w.field("name", a.name.rawValue)
                        w.field("type", a.type.rawValue)
                        switch a.presence {
                        case .always: w.field("presence", "always"); w.field("when", nil as String?)
                        case .nullable(let when): w.field("presence", "nullable"); w.field("when", when)
                        case .optional(let when): w.field("presence", "optional"); w.field("when", when)
                        }
                    }
                }
            }
        }
    }
}
