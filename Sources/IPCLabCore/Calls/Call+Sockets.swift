/// Sockets: TCP, UDP, Unix-domain and socketpairs, and the file calls of `send_fd`/`recv_fd`.
/// Keys with a prefix are calls pipes make too.
public enum SocketCall: String, CallTable {
    case read = "sock.read", write = "sock.write"
    case socketpair, socket, setsockopt, getsockopt, bind, connect, listen, accept, futex
    case send, sendto, recv, recvfrom, shutdown, sendmsg, recvmsg
    case openat, fileWrite = "file.write", fileRead = "file.read", lseek, fileClose = "file.close"

    public var spec: CallSpec {
        let f = CallFamily.sockets
        let option: [CallArgument] = [.integer(.sockfd), .flags(.level), .string(.optname)]
        let transfer: [CallArgument] = [.integer(.sockfd), .integer(.len), .flags(.flags)]
        let fileFd: [CallArgument] = [.integer(.fd), .integer(.count), .string(.path, .optional("the process opened the file (recv_fd's knows no path)"))]
        return switch self {
        case .read:
            call(f, [.integer(.fd), .integer(.count), .channel], blocks: true, moves: .receives, "read(2) on a connected socket.")
        case .write:
            call(f, [.integer(.fd), .integer(.count), .channel], blocks: true, moves: .sends, "write(2) on a connected socket.")
        case .socketpair:
            call(f, [.flags(.domain), .flags(.type), .integer(.`protocol`), .init(.sv, .array), .channel],
                 "socketpair(2): two connected Unix-domain sockets, sv[0] and sv[1].")
        case .socket: call(f, [.flags(.domain), .flags(.type), .integer(.`protocol`), .channel], "socket(2): makes a socket.")
        case .setsockopt: call(f, option + [.integer(.optval), .channel], "setsockopt(2): sets a socket option.")
        case .getsockopt:
            call(f, option + [.integer(.optval, .nullable("getsockopt failed")), .channel], "getsockopt(2): reads a socket option.")
        case .bind: call(f, [.integer(.sockfd), .string(.addr), .channel], "bind(2): gives a socket its address.")
        case .connect:
            call(f, [.integer(.sockfd), .string(.addr), .channel, .integer(.localPort, .optional("a TCP or UDP connect succeeded"))], blocks: true,
                 "connect(2): connects to the channel's address (a datagram socket just sets its peer).")
        case .listen: call(f, [.integer(.sockfd), .integer(.backlog), .channel], "listen(2): makes a socket accept connections.")
        case .accept:
            call(f, [.integer(.sockfd), .string(.peer, .nullable("not TCP, or accept failed")), .channel], blocks: true,
                 "accept(2): waits for a connection and returns its socket.")
        case .futex:
            call(f, [.string(.op), .string(.until), .channel], blocks: true,
                 "Waits (FUTEX_WAIT) until the server's socket is listening or bound, so a client never connects too early.")
        case .send:
            call(f, transfer + [.channel], blocks: true, moves: .sends, "send(2): sends bytes (a stream) or one datagram.")
        case .sendto:
            call(f, transfer + [.string(.destAddr), .channel], blocks: true, moves: .sends, "sendto(2): sends one datagram to dest_addr.")
        case .recv:
            call(f, transfer + [.channel], blocks: true, moves: .receives, "recv(2): receives bytes, or one datagram.")
        case .recvfrom:
            call(f, transfer + [.string(.srcAddr, .nullable("the sender has no port")), .channel], blocks: true, moves: .receives,
                 "recvfrom(2): receives one datagram and who sent it.")
        case .shutdown: call(f, [.integer(.sockfd), .flags(.how), .channel], "shutdown(2): ends one or both directions of a connection.")
        case .sendmsg:
            call(f, [.integer(.sockfd), .init(.scmRights, .array), .channel], blocks: true,
                 "sendmsg(2) of one byte, with a descriptor in SCM_RIGHTS when scm_rights holds one.")
        case .recvmsg:
            call(f, [.integer(.sockfd), .init(.scmRights, .array), .channel], blocks: true,
                 "recvmsg(2): one byte and the descriptor passed with it, now this process's (scm_rights).")
        case .openat:
            call(f, [.string(.path), .flags(.flags), .flags(.mode), .channel], blocks: true, "openat(2) of the file send_fd passes.")
        case .fileWrite: call(f, fileFd, blocks: true, moves: .sends, "write(2) into the file send_fd passes.")
        case .fileRead: call(f, fileFd, blocks: true, moves: .receives, "read(2) through a descriptor recv_fd received.")
        case .lseek: call(f, [.integer(.fd), .integer(.offset), .flags(.whence)], "lseek(2): rewinds the file before it is passed.")
        case .fileClose: call(f, [.integer(.fd), .string(.path)], "close(2) of the file, after it was passed.")
        }
    }
}
