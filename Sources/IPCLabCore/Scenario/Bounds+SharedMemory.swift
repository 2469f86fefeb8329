/// Bounds of the shared-memory and semaphore parts of the language, also stated in `openapi.yaml`.
extension Scenario.Bounds {
    /// Bytes of a shared-memory region (the run's `/dev/shm` is a 16 MiB tmpfs).
    public static let sharedMemorySize = 1...1_048_576
    /// `ftok(3)`'s project id; below 128 so the key stays positive.
    public static let ftokID = 1...127
    /// A semaphore's value (SysV's SEMVMX is 32767).
    public static let semaphoreValue = 0...32_767
    /// An offset into a shared-memory region.
    public static let offset = 0...1_048_575
    /// Bytes one `store` or `load` moves.
    public static let accessBytes = 1...4096
    /// Iterations of one `increment` step.
    public static let increments = 1...10_000_000
    /// Iterations of an `increment` recorded one by one before the loop.
    public static let detailedIncrements = 0...16
    /// An address to `attach` at: page-aligned, from 64 KiB to the top of the 47-bit user address space.
    public static let attachAddress = 0x10000...0x7FFF_FFFF_0000
    /// Processes a `barrier` waits for.
    public static let barrierCount = 1...64
    /// An integer stored with `store_int`: exactly representable in a JSON number (±2^53−1).
    public static let storedInteger = -9_007_199_254_740_991...9_007_199_254_740_991
}
