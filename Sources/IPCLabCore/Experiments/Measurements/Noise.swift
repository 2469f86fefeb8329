/// One run on a shared machine cannot rank figures that differ by less than its noise: such figures
/// are a tie, printed `≈`, and a claim that one is faster does not hold on them.
enum Noise {
    /// Figures whose difference is under this fraction of the larger are a tie.
    static let margin = 0.05

    /// Whether `a` is larger than `b` by more than the noise margin.
    static func clearlyAbove(_ a: Double, _ b: Double) -> Bool {
        a > b && (a - b) > margin * max(abs(a), abs(b))
    }

    /// Whether the two are within the noise margin of each other.
    static func tie(_ a: Double, _ b: Double) -> Bool {
        !clearlyAbove(a, b) && !clearlyAbove(b, a)
    }

    /// `items` (already sorted, best first) joined by `separator`, or by ` ≈ ` where a figure ties with the one before.
    static func ranking(_ items: [(label: String, value: Double)], separator: String) -> String {
        var out = ""
        for (i, item) in items.enumerated() {
            if i > 0 { out += tie(items[i - 1].value, item.value) ? " ≈ " : separator }
            out += item.label
        }
        return out
    }
}
