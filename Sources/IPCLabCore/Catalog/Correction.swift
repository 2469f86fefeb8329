/// Where a course note and the kernel disagree: what the note says, what the kernel does, and the
/// observation of the experiment that shows the kernel's side (nil when no run of this preset shows it).
public struct Correction: Sendable, Equatable {
    /// The note, by its number in `seeds/` (`"001"`).
    public var note: String
    /// What the note says, quoted or closely paraphrased.
    public var says: String
    /// What the kernel does instead.
    public var kernel: String
    /// The id of the observation whose evidence shows it.
    public var observation: String?

    public init(note: String, says: String, kernel: String, observation: String? = nil) {
        self.note = note
        self.says = says
        self.kernel = kernel
        self.observation = observation
    }
}

extension Correction {
    /// The corrections known so far, by experiment id (see the catalog's Corrections section).
    static let known: [String: [Correction]] = [
        "signal.permissions": [Correction(
            note: "001", says: "a process can only send signals to processes in the same group, i.e. with the same uid and gid",
            kernel: "kill(2) checks user ids only: the sender's real or effective uid must match the target's real or saved uid (or the sender has CAP_KILL in the target's user namespace); a different gid alone does not matter",
            observation: "signal.permissions.different_gid_delivered")],
        "signal.coalescing": [Correction(
            note: "001", says: "if a signal occurs once or 10 times it will only be handled once by the process",
            kernel: "only standard signals (1–31) are merged while pending; real-time signals (SIGRTMIN…SIGRTMAX) queue, and each is delivered, in order",
            observation: "signal.coalescing.realtime_queued")],
        "signal.pointer": [Correction(
            note: "000", says: "if we send a pointer, the receiver will likely see an invalid or meaningless address",
            kernel: "the number arrives intact and is an address in the receiver's own address space: memory mapped before fork is mapped at the same address in both, so there it is valid and holds the receiver's own copy of the bytes; memory the sender mapped after fork (before_fork: false) is not mapped in the receiver (EFAULT)",
            observation: "signal.pointer.valid_after_fork")],
        "shm.anonymous": [Correction(
            note: "004", says: "shared_memory.c: memcpy(shmem, parent_message, sizeof(parent_message)) copies the message",
            kernel: "parent_message is a char *, so sizeof gives the pointer's size (8 bytes on x86-64), not the string's: the program copies 8 bytes — \"1111\", its NUL and 3 bytes past it — and works only because the messages are shorter than a pointer (strlen + 1 is what was meant); this preset copies as the notes do unless copy is \"string\"",
            observation: "shm.anonymous.copies_pointer_size")],
        "shm.sysv": [Correction(
            note: "004", says: "shmid = shmget(key, 1024, 0644) makes the segment",
            kernel: "without IPC_CREAT, shmget only finds an existing segment: with no segment for the key it fails with ENOENT (this preset creates it with IPC_CREAT|0600, and shows the ENOENT of shmget(key, 0, 0) once the segment is gone)",
            observation: "shm.sysv.removed")],
        "signal.fault": [Correction(
            note: "002", says: "an illegal instruction (like dividing by zero)",
            kernel: "an integer division by zero raises SIGFPE (a #DE exception, si_code FPE_INTDIV), not SIGILL, the illegal-instruction signal",
            observation: "signal.fault.sigfpe")],
        "pipe.capacity": [Correction(
            note: "001", says: "the inode that both processes point to eventually points to a physical page within memory",
            kernel: "a pipe holds 16 page-sized slots by default (65,536 bytes with 4096-byte pages; F_GETPIPE_SZ, settable with F_SETPIPE_SZ), not one page; a write shares a slot only if it fits there whole, so odd-sized writes fill it below 65,536 bytes",
            observation: "pipe.capacity.fills_at_capacity")],
    ]
}
