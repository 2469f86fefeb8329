import CIPCLab
import Glibc
import IPCLabCore

/// Socket steps. Per process and socket channel, `ChannelEnds.handle` is the socket the
/// process made (a server's listening socket), `read` its connection once `accept` gave one,
/// and `size` is 1 once the socket is connected (`connect`, `accept`, a socketpair). A
/// socketpair's two ends are `handle` (sv[0], the first process's) and `write` (sv[1], the others').
extension Participant {
    /// `socketpair(2)` before anyone forks; other socket channels are made by `socket` steps.
    /// The first socket channel also maps the page `wait_ready` waits on, shared by every process.
    mutating func createSocketChannel(_ i: Int, _ spec: SocketChannel) {
        if socketReadyFlags == nil {
            let page = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
            if let page, page != MAP_FAILED { socketReadyFlags = page.bindMemory(to: UInt32.self, capacity: 1024) }
        }
        guard case .socketpair(let type) = spec else { return }
        let kind = Self.kind(of: .socketpair(type: type))
        var sv: [Int32] = [-1, -1]
        let r = Recorder.returned(.sockets(.socketpair), step: nil,
                                  args: [Int64(ipclab_AF_UNIX), Int64(ipclab_socket_type(kind)), 0, Int64(i), Int64(sv[0]), Int64(sv[1])]) {
            Int(ipclab_socketpair(kind, &sv))
        }.result
        if r == 0 { ends[i] = ChannelEnds(write: sv[1], handle: Int64(sv[0]), size: 1) }
    }

    static func kind(of spec: SocketChannel) -> Int32 {
        let k: ipclab_socket_kind
        switch spec {
        case .tcp: k = IPCLAB_SOCKET_TCP
        case .udp: k = IPCLAB_SOCKET_UDP
        case .unixStream: k = IPCLAB_SOCKET_UNIX_STREAM
        case .unixDgram: k = IPCLAB_SOCKET_UNIX_DGRAM
        case .socketpair(.stream): k = IPCLAB_SOCKET_UNIX_STREAM
        case .socketpair(.dgram): k = IPCLAB_SOCKET_UNIX_DGRAM
        case .socketpair(.seqpacket): k = IPCLAB_SOCKET_UNIX_SEQPACKET
        }
        return Int32(k.rawValue)
    }

    private func socketSpec(_ c: Int) -> SocketChannel? {
        if case .socket(let s) = scenario.channels[c].spec { return s }
        return nil
    }

    /// This process's connection on channel `c` (see the type's comment).
    func connection(_ c: Int) -> Int32 {
        if ends[c].read >= 0 { return ends[c].read }
        if case .socketpair? = socketSpec(c), index != 0 { return ends[c].write }
        return Int32(truncatingIfNeeded: ends[c].handle)
    }

    /// The channel's address, for `bind`, `connect` and `sendto`.
    private func address(_ c: Int) -> ipclab_address {
        var a = ipclab_address()
        switch socketSpec(c) {
        case let .tcp(address, port)?, let .udp(address, port)?:
            a.family = ipclab_AF_INET
            a.ipv4 = address.value
            a.port = Int32(port)
        case .unixStream(let path)?, .unixDgram(let path)?:
            a.family = ipclab_AF_UNIX
            withUnsafeMutableBytes(of: &a.path) { buf in
                let bytes = Array(path.utf8.prefix(buf.count - 1))
                buf.copyBytes(from: bytes)
                buf[bytes.count] = 0
            }
        default:
            break
        }
        return a
    }

    mutating func runSocketStep(_ step: SocketStep, at i: Int) {
        guard let c = step.channel.map(channelIndex), let spec = socketSpec(c) else { return }
        switch step {
        case .socket:
            let kind = Self.kind(of: spec)
            let fdCall = Recorder.returned(.sockets(.socket), step: i, args: [Int64(ipclab_socket_domain(kind)), Int64(ipclab_socket_type(kind)), 0, Int64(c)]) { Int(ipclab_socket(kind)) }
            let fd = Int32(truncatingIfNeeded: fdCall.result)
            if fd >= 0 { ends[c] = ChannelEnds(handle: Int64(fd)) }
        case let .setsockopt(_, option, value):
            let fd = connection(c)
            let o = Self.optionIndex(option)
            Recorder.returned(.sockets(.setsockopt), step: i,
                              args: [Int64(fd), Int64(ipclab_sockopt_level(o)), Int64(ipclab_sockopt_name(o)), Int64(value), Int64(c), Int64(o)]) {
                Int(ipclab_setsockopt(fd, o, Int64(value)))
            }
        case let .getsockopt(_, option):
            let fd = connection(c)
            let o = Self.optionIndex(option)
            var value: Int64 = -1
            Recorder.returned(.sockets(.getsockopt), step: i,
                              args: [Int64(fd), Int64(ipclab_sockopt_level(o)), Int64(ipclab_sockopt_name(o)), value, Int64(c), Int64(o)]) {
                let r = ipclab_getsockopt(fd, o, &value)
                if r != 0 { value = -1 }
                return Int(r)
            }
        case .bind:
            let fd = Int32(truncatingIfNeeded: ends[c].handle)
            var a = address(c)
            let rCall = Recorder.returned(.sockets(.bind), step: i, args: [Int64(fd), Int64(c)]) { Int(ipclab_bind(fd, &a)) }
            let r = Int32(truncatingIfNeeded: rCall.result)
            if r == 0, !spec.isListening { markReady(c) }
        case let .listen(_, backlog):
            let fd = Int32(truncatingIfNeeded: ends[c].handle)
            let rCall = Recorder.returned(.sockets(.listen), step: i, args: [Int64(fd), Int64(backlog), Int64(c)]) { Int(Glibc.listen(fd, Int32(backlog))) }
            let r = Int32(truncatingIfNeeded: rCall.result)
            if r == 0 { markReady(c) }
        case .accept:
            let fd = Int32(truncatingIfNeeded: ends[c].handle)
            // args[2] gets the peer's port (TCP) once known.
            var peer = ipclab_address()
            let r = Recorder.call(.sockets(.accept), step: i, args: [Int64(fd), Int64(c), -1], amend: { record in
                if peer.family == ipclab_AF_INET { record.pointee.args.2 = Int64(peer.port) }
            }) { Int(ipclab_accept(fd, &peer)) }.result
            if r >= 0 { ends[c].read = Int32(r); ends[c].size = 1 }
        case .connect:
            let fd = Int32(truncatingIfNeeded: ends[c].handle)
            var a = address(c)
            var connected = false
            Recorder.call(.sockets(.connect), step: i, args: [Int64(fd), Int64(c), -1], amend: { record in
                var own = ipclab_address()
                if connected, ipclab_getsockname(fd, &own) == 0, own.family == ipclab_AF_INET { record.pointee.args.2 = Int64(own.port) }
            }) {
                let r = ipclab_connect(fd, &a)
                connected = r == 0
                return Int(r)
            }
            if connected { ends[c].size = 1 }
        case .waitReady:
            Recorder.call(.sockets(.futex), step: i, args: [Int64(c), spec.isListening ? 0 : 1]) {
                Int(socketReadyFlags.map { ipclab_futex_wait_set($0 + c, 3_600_000_000_000) } ?? -1)
            }
        case let .recv(_, size, count, untilEOF, nonblocking, call):
            let times = untilEOF ? Self.loopLimit : count
            for _ in 0..<times {
                let r = receive(c, spec, size: size, nonblocking: nonblocking, call: call, step: i)
                if r < 0 || (untilEOF && r == 0) { return }
            }
        case let .shutdown(_, how):
            let fd = connection(c)
            let h: Int32 = switch how {
            case .read: ipclab_SHUT_RD
            case .write: ipclab_SHUT_WR
            case .both: ipclab_SHUT_RDWR
            }
            Recorder.returned(.sockets(.shutdown), step: i, args: [Int64(fd), Int64(h), Int64(c)]) { Int(Glibc.shutdown(fd, h)) }
        case let .sendUntilFull(_, size, nonblocking):
            let chunk = PipeStep.Data.size(size).bytes
            for _ in 0..<Self.loopLimit {
                let r = sendOnSocket(c, spec, chunk, flags: ipclab_MSG_DONTWAIT, call: .send, step: i)
                if r < 0 {
                    if errno == EAGAIN && !nonblocking { sendOnSocket(c, spec, chunk, flags: 0, call: .send, step: i) }
                    return
                }
            }
        case let .sendFD(_, path, data, attach, close):
            sendDescriptor(c, path: path, data: data, attach: attach, close: close, step: i)
        case let .recvFD(_, size):
            receiveDescriptor(c, size: size, step: i)
        }
    }

    /// `send` on a socket: `send(2)`, `sendto(2)` when not connected, or `write(2)`, `count` times.
    mutating func sendToSocket(_ step: SendStep, _ c: Int, _ spec: SocketChannel, at i: Int) {
        let bytes = step.data.bytes
        for _ in 0..<step.count {
            if sendOnSocket(c, spec, bytes, flags: step.nonblocking ? ipclab_MSG_DONTWAIT : 0, call: step.call ?? .send, step: i) < 0 { return }
        }
    }

    /// One send; returns its result (errno is the call's when it is -1).
    @discardableResult
    private func sendOnSocket(_ c: Int, _ spec: SocketChannel, _ bytes: [UInt8], flags: Int32, call: SocketStep.SendCall, step: Int) -> Int {
        let fd = connection(c)
        let connected = ends[c].size == 1
        let name: SocketCall = call == .write ? .write : connected || !spec.isDatagram ? .send : .sendto
        let args: [Int64] = call == .write ? [Int64(fd), Int64(bytes.count), Int64(c)] : [Int64(fd), Int64(bytes.count), Int64(flags), Int64(c)]
        var a = address(c)
        let sent = bytes.withUnsafeBytes { buf in
            Recorder.call(.sockets(name), step: step, args: args, payload: buf) {
                switch name {
                case .write: Glibc.write(fd, buf.baseAddress, buf.count)
                case .sendto: ipclab_sendto(fd, buf.baseAddress, buf.count, flags, &a)
                default: Glibc.send(fd, buf.baseAddress, buf.count, flags | Int32(MSG_NOSIGNAL))
                }
            }
        }
        socketSnapshot(c, fd, after: sent.slot)
        errno = sent.errno
        return sent.result
    }

    /// One receive: `recv(2)`, `recvfrom(2)` on a UDP socket (the sender's port goes into the
    /// record), or `read(2)`. Returns its result.
    private func receive(_ c: Int, _ spec: SocketChannel, size: Int, nonblocking: Bool, call: SocketStep.RecvCall, step: Int) -> Int {
        let fd = connection(c)
        let flags = nonblocking ? ipclab_MSG_DONTWAIT : 0
        var buffer = [UInt8](repeating: 0, count: size)
        let got = buffer.withUnsafeMutableBytes { buf in
            let into = UnsafeRawBufferPointer(buf)
            if call == .read {
                return Recorder.call(.sockets(.read), step: step, args: [Int64(fd), Int64(size), Int64(c)], payload: into) {
                    Glibc.read(fd, buf.baseAddress, size)
                }
            } else if case .udp = spec {
                var from = ipclab_address()
                return Recorder.call(.sockets(.recvfrom), step: step, args: [Int64(fd), Int64(size), Int64(flags), Int64(c), -1], payload: into,
                                     amend: { if from.port != 0 { $0.pointee.args.4 = Int64(from.port) } }) {
                    ipclab_recvfrom(fd, buf.baseAddress, size, flags, &from)
                }
            } else {
                return Recorder.call(.sockets(.recv), step: step, args: [Int64(fd), Int64(size), Int64(flags), Int64(c)], payload: into) {
                    Glibc.recv(fd, buf.baseAddress, size, flags)
                }
            }
        }
        socketSnapshot(c, fd, after: got.slot)
        return got.result
    }

    /// `send_fd`: open a file in the run's /tmp, write into it, rewind, pass the descriptor.
    private mutating func sendDescriptor(_ c: Int, path: String, data: String, attach: Bool, close: Bool, step: Int) {
        let flags = O_CREAT | O_RDWR | O_TRUNC
        let file = Int32(Recorder.call(.sockets(.openat), step: step, args: [Int64(flags), 0o600, -1, 0, Int64(c)]) {
            Int(Glibc.open(path, flags, 0o600))
        }.result)
        if file >= 0 {
            let bytes = Array(data.utf8)
            bytes.withUnsafeBytes { buf in
                _ = Recorder.returned(.sockets(.fileWrite), step: step, args: [Int64(file), Int64(bytes.count)], payload: buf) {
                    Glibc.write(file, buf.baseAddress, buf.count)
                }
            }
            Recorder.returned(.sockets(.lseek), step: step, args: [Int64(file), 0, Int64(SEEK_SET)]) { Int(lseek(file, 0, SEEK_SET)) }
        }
        let sock = connection(c)
        let passed = attach ? file : -1
        Recorder.call(.sockets(.sendmsg), step: step, args: [Int64(sock), Int64(passed), Int64(c)]) {
            ipclab_sendmsg_fd(sock, UInt8(ascii: "F"), passed)
        }
        if close && file >= 0 {
            Recorder.returned(.sockets(.fileClose), step: step, args: [Int64(file)]) { Int(Glibc.close(file)) }
        }
    }

    /// `recv_fd`: take one byte and a descriptor, then read through the descriptor.
    private func receiveDescriptor(_ c: Int, size: Int, step: Int) {
        let sock = connection(c)
        // args[1] gets the descriptor the message carried (-1: none).
        var byte: UInt8 = 0
        var fd: Int32 = -1
        Recorder.call(.sockets(.recvmsg), step: step, args: [Int64(sock), -1, Int64(c)], amend: { $0.pointee.args.1 = Int64(fd) }) {
            ipclab_recvmsg_fd(sock, &byte, &fd)
        }
        guard fd >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: size)
        buffer.withUnsafeMutableBytes { buf in
            _ = Recorder.call(.sockets(.fileRead), step: step, args: [Int64(fd), Int64(size)], payload: UnsafeRawBufferPointer(buf)) {
                Glibc.read(fd, buf.baseAddress, size)
            }
        }
    }

    /// Records the bytes queued on a socket after the record `after`: `SIOCINQ` (waiting to be
    /// read here) and `SIOCOUTQ` (sent from here, not yet taken by the peer), and `SO_SNDBUF`.
    private func socketSnapshot(_ c: Int, _ fd: Int32, after slot: UInt32) {
        let inq = ipclab_socket_inq(fd)
        let outq = ipclab_socket_outq(fd)
        guard inq >= 0 || outq >= 0 else { return }
        var sndbuf: Int64 = -1
        _ = ipclab_getsockopt(fd, Int32(IPCLAB_SO_SNDBUF.rawValue), &sndbuf)
        Recorder.record(IPCLAB_REC_OBJECT, "socket", step: nil,
                        args: [Int64(c), Int64(inq), Int64(outq), Int64(slot == Recorder.none ? -1 : Int64(slot)), sndbuf], result: 0)
    }

    private func markReady(_ c: Int) {
        if let flags = socketReadyFlags { ipclab_futex_set(flags + c) }
    }

    static func optionIndex(_ option: SocketStep.Option) -> Int32 {
        let o: ipclab_socket_option = switch option {
        case .reuseAddress: IPCLAB_SO_REUSEADDR
        case .reusePort: IPCLAB_SO_REUSEPORT
        case .keepAlive: IPCLAB_SO_KEEPALIVE
        case .sendBuffer: IPCLAB_SO_SNDBUF
        case .receiveBuffer: IPCLAB_SO_RCVBUF
        case .receiveTimeout: IPCLAB_SO_RCVTIMEO
        case .sendTimeout: IPCLAB_SO_SNDTIMEO
        case .noDelay: IPCLAB_TCP_NODELAY
        case .type: IPCLAB_SO_TYPE
        case .error: IPCLAB_SO_ERROR
        }
        return Int32(o.rawValue)
    }
}

/// One word per channel that `bind`/`listen` set and `wait_ready` waits on: a shared anonymous
/// page mapped by the first process before it forks, so every process of the run sees it.
nonisolated(unsafe) var socketReadyFlags: UnsafeMutablePointer<UInt32>?
