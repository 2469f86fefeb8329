import IPCLabCore

/// The `send` step: into a message queue or through a socket.
extension Participant {
    mutating func runSendStep(_ step: SendStep, at i: Int) {
        let c = channelIndex(step.channelName)
        switch scenario.channels[c].spec {
        case .messageQueue(let spec): sendToQueue(step, c, spec, at: i)
        case .socket(let spec): sendToSocket(step, c, spec, at: i)
        default: break // validation allows nothing else
        }
    }
}
