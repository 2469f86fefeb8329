import CIPCLab
import Glibc
import IPCLabCore

/// Argument names of the socket calls (and the file calls of `send_fd`/`recv_fd`), and the
/// state of a socket's snapshots.
extension EventArguments {
    static let socketBlocking: Set<String> = ["accept", "connect", "futex", "send", "sendto", "recv", "recvfrom", "sendmsg", "recvmsg",
                                                 "openat"]
    static let socketMovesBytes: Set<String> = ["send", "sendto", "recv", "recvfrom"]

    func describeSocketCall(_ r: RawRecord) -> [(String, JSONValue)]? {
        let a = r.args
        func int(_ v: Int64) -> JSONValue { .integer(v) }
        // read/write/close on a socket channel, or on the file `send_fd` passes, are named here;
        // on a pipe they are the pipe family's.
        if a[3] == Participant.fileMark {
            switch r.call {
            case "openat":
                return [("path", filePath(r)), ("flags", "O_RDWR|O_CREAT|O_TRUNC"), ("mode", "0600"), ("channel", channel(a[4]))]
            case "write", "read":
                // recv_fd reads through a descriptor it received: it knows no path.
                let path = filePath(r)
                return [("fd", int(a[0])), ("count", int(a[1]))] + (path == .null ? [] : [("path", path)])
            case "lseek":
                return [("fd", int(a[0])), ("offset", int(a[1])), ("whence", "SEEK_SET")]
            case "close":
                return [("fd", int(a[0])), ("path", filePath(r))]
            default:
                return nil
            }
        }
        switch r.call {
        case "read", "write":
            guard isSocket(a[2]) else { return nil }
            return [("fd", int(a[0])), ("count", int(a[1])), ("channel", channel(a[2]))]
        case "socketpair":
            return [("domain", "AF_UNIX"), ("type", .string(socketType(a[1]))), ("protocol", 0), ("sv", [int(a[4]), int(a[5])]),
                    ("channel", channel(a[3]))]
        case "socket":
            return [("domain", a[0] == Int64(ipclab_AF_INET) ? "AF_INET" : "AF_UNIX"), ("type", .string(socketType(a[1]))),
                    ("protocol", 0), ("channel", channel(a[3]))]
        case "setsockopt", "getsockopt":
            return [("sockfd", int(a[0])), ("level", a[1] == Int64(IPPROTO_TCP) ? "IPPROTO_TCP" : "SOL_SOCKET"),
                    ("optname", .string(optionName(a[5]))), ("optval", r.result == 0 || r.call == "setsockopt" ? int(a[3]) : .null),
                    ("channel", channel(a[4]))]
        case "bind", "connect":
            var out: [(String, JSONValue)] = [("sockfd", int(a[0])), ("addr", address(a[1])), ("channel", channel(a[1]))]
            if r.call == "connect", a[2] >= 0 { out.append(("local_port", int(a[2]))) }
            return out
        case "listen":
            return [("sockfd", int(a[0])), ("backlog", int(a[1])), ("channel", channel(a[2]))]
        case "accept":
            return [("sockfd", int(a[0])), ("peer", a[2] >= 0 ? .string("\(host(a[1])):\(a[2])") : .null), ("channel", channel(a[1]))]
        case "futex":
            return [("op", "FUTEX_WAIT"), ("until", a[1] == 0 ? "listening" : "bound"), ("channel", channel(a[0]))]
        case "send", "sendto", "recv", "recvfrom":
            var out: [(String, JSONValue)] = [("sockfd", int(a[0])), ("len", int(a[1])), ("flags", a[2] != 0 ? "MSG_DONTWAIT" : "0")]
            if r.call == "sendto" { out.append(("dest_addr", address(a[3]))) }
            if r.call == "recvfrom" { out.append(("src_addr", a[4] > 0 ? .string("\(host(a[3])):\(a[4])") : .null)) }
            out.append(("channel", channel(a[3])))
            return out
        case "shutdown":
            let how: JSONValue = a[1] == Int64(ipclab_SHUT_RD) ? "SHUT_RD" : a[1] == Int64(ipclab_SHUT_WR) ? "SHUT_WR" : "SHUT_RDWR"
            return [("sockfd", int(a[0])), ("how", how), ("channel", channel(a[2]))]
        case "sendmsg":
            return [("sockfd", int(a[0])), ("scm_rights", a[1] >= 0 ? [int(a[1])] : []), ("channel", channel(a[2]))]
        case "recvmsg":
            return [("sockfd", int(a[0])), ("scm_rights", r.done && a[1] >= 0 ? [int(a[1])] : []), ("channel", channel(a[2]))]
        default:
            return nil
        }
    }

    /// What a socket holds: bytes waiting to be read here (`SIOCINQ`), bytes sent from here and
    /// not yet taken (`SIOCOUTQ`), and its `SO_SNDBUF`.
    func socketObjectState(_ r: RawRecord) -> (state: [(String, Int64)], labels: [(String, String)])? {
        guard r.call == "socket" else { return nil }
        return ([("recv_queue", r.args[1]), ("send_queue", r.args[2]), ("sndbuf", r.args[4])], [])
    }

    private func socketSpec(_ c: Int64) -> SocketChannel? {
        guard scenario.channels.indices.contains(Int(c)), case .socket(let s) = scenario.channels[Int(c)].spec else { return nil }
        return s
    }

    private func isSocket(_ c: Int64) -> Bool { socketSpec(c) != nil }

    /// `127.0.0.1:8080` or `/tmp/s.sock`: the address of channel `c`.
    private func address(_ c: Int64) -> JSONValue {
        switch socketSpec(c) {
        case let .tcp(address, port)?, let .udp(address, port)?: .string("\(address):\(port)")
        case .unixStream(let p)?, .unixDgram(let p)?: .string(p)
        default: .null
        }
    }

    /// The host part of channel `c`'s address (a TCP/UDP peer on loopback is the same host).
    private func host(_ c: Int64) -> String {
        switch socketSpec(c) {
        case let .tcp(address, _)?, let .udp(address, _)?: address == .any ? "127.0.0.1" : address.description
        default: "?"
        }
    }

    /// The path of the `send_fd` step that made a file call.
    private func filePath(_ r: RawRecord) -> JSONValue {
        guard scenario.processes.indices.contains(r.process), let step = r.step,
              scenario.processes[r.process].steps.indices.contains(step),
              case .socket(.sendFD(_, let path, _, _, _)) = scenario.processes[r.process].steps[step] else { return .null }
        return .string(path)
    }

    private func socketType(_ t: Int64) -> String {
        switch Int32(truncatingIfNeeded: t) {
        case ipclab_SOCK_STREAM: "SOCK_STREAM"
        case ipclab_SOCK_DGRAM: "SOCK_DGRAM"
        case ipclab_SOCK_SEQPACKET: "SOCK_SEQPACKET"
        default: "\(t)"
        }
    }

    private func optionName(_ o: Int64) -> String {
        SocketStep.Option.allCases.first { Int64(Participant.optionIndex($0)) == o }?.rawValue ?? "\(o)"
    }
}
