import CIPCLab
import IPCLabCore

/// The one set-up record that stands for the operations a ready init did ahead of its run
/// (`IPCLAB_SETUP_AHEAD_CALL`, written by the C runner's `setup.c`): a bit per operation done, named
/// from the table both sides compile (`ipclab_setup_ahead_name`), the bits of those that failed, and
/// their errnos in order. One record instead of twelve: −10 and −28 µs per lone run, paired (docs/performance.md).
///
/// Like every record it is hostile input: bits past the table name nothing and are left out, a failure
/// bit without its operation's bit is ignored, and an errno past the arguments or out of range is
/// shown as none.
enum SetupAhead {
    /// The record's call name.
    static let call = IPCLAB_SETUP_AHEAD_CALL

    /// The operations' names, by bit.
    static let names: [String] = {
        var names: [String] = []
        while let name = ipclab_setup_ahead_name(Int32(names.count)) { names.append(String(cString: name)) }
        return names
    }()

    /// The set-up operations of a run's set-up records (`IPCLAB_REC_SETUP`, but `namespaces` and
    /// `seccomp`), in order: one per record, and those one compact record stands for. Only the first
    /// compact record, and only the init's, is expanded: the init writes one, before any process of the
    /// run exists; another is a run's forgery, which would otherwise make twelve operations of each record.
    static func operations(of records: [RawRecord]) -> [SandboxReport.Operation] {
        var expanded = false
        return records.flatMap { r -> [SandboxReport.Operation] in
            guard r.call == call else {
                return [SandboxReport.Operation(op: r.call, result: r.result, errno: ErrnoName.of(r.err), tNs: r.tBegin)]
            }
            guard !expanded, r.process == -1 else { return [] }
            expanded = true
            return operations(r)
        }
    }

    /// The operations `record` stands for, in the order they were done, each at the record's time.
    static func operations(_ record: RawRecord) -> [SandboxReport.Operation] {
        let done = UInt64(bitPattern: record.args[0])
        let failed = UInt64(bitPattern: record.args[1]) & done
        var next = 2
        var operations: [SandboxReport.Operation] = []
        for (bit, name) in names.enumerated() where done & (1 << UInt64(bit)) != 0 {
            guard failed & (1 << UInt64(bit)) != 0 else {
                operations.append(.init(op: name, result: 0, errno: nil, tNs: record.tBegin))
                continue
            }
            let err = next < record.args.count ? record.args[next] : 0
            next += 1
            operations.append(.init(op: name, result: -1, errno: (1...4095).contains(err) ? ErrnoName.of(Int32(err)) : nil,
                                    tNs: record.tBegin))
        }
        return operations
    }
}
