import IPCLabCore
import Testing
@testable import IPCLabSandbox

/// The runner's warm-up (``Spawner/warmUp()``): what it pays once so that each run's init does not.
@Suite("Runner warm-up")
struct WarmUpTests {
    @Test("the warm-up decodes every preset's default scenario (each brings step kinds of its own), not only the first")
    func everyPreset() {
        let presets = Catalog.standard.presets.count
        #expect(presets > 1)
        #expect(Spawner.warmUp() == presets)
    }
}
