/// Where the two processes of a measurement run: the `placement` parameter of both bench presets.
enum BenchPlacement: String, CaseIterable {
    /// The scheduler decides (and may move them).
    case any
    /// Both pinned to the first CPU they may run on: every hand-over is a context switch.
    case sameCPU = "same_cpu"
    /// Each pinned to a CPU of its own (the first and the second they may run on).
    case twoCPUs = "two_cpus"

    static let parameter = Parameter(
        "placement", .string,
        "Where the two processes run: \"any\" (the scheduler decides), \"same_cpu\" (both pinned to one CPU) or \"two_cpus\" (each pinned to a CPU of its own, sched_setaffinity).",
        default: "any", count: 3...8, choices: allCases.map(\.rawValue))

    static func check(_ params: Parameters) throws(LabError) {
        try Choice.check(params, "placement", allCases.map(\.rawValue))
    }

    init(_ params: Parameters) {
        self = BenchPlacement(rawValue: params.string("placement") ?? "any") ?? .any
    }

    /// The CPU index of the first and of the second process's bench steps.
    var cpus: (Int?, Int?) {
        switch self {
        case .any: (nil, nil)
        case .sameCPU: (0, 0)
        case .twoCPUs: (0, 1)
        }
    }
}
