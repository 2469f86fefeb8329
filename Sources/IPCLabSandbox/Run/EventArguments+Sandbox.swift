import IPCLabCore

/// Argument names of the sandbox probes: `try_syscall` passes fixed harmless arguments, named by
/// its call alone (the same call names, made by other steps, keep their own families' names).
extension EventArguments {
    func describeSandboxCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        guard scenario.processes.indices.contains(r.process), let step = r.step,
              scenario.processes[r.process].steps.indices.contains(step),
              case .sandbox = scenario.processes[r.process].steps[step] else { return nil }
        return []
    }
}
