"""Runs a command inside a new user namespace whose per-namespace limits forbid some namespaces.

    python3 e2e/userns_limited.py pid,ipc,mnt COMMAND [ARG...]

`/proc/sys/user/max_<kind>_namespaces` is a limit of each user namespace, checked up the whole chain
of user namespaces: a process in a user namespace where `max_pid_namespaces` is 0 cannot make a PID
namespace, not even inside a further user namespace of its own. This is how the tests take namespaces
away from `ipclab serve` with the kernel's own mechanism (no test-only switch in the server).

The child is root in the new namespace with host ids 0…65535 and the default run uids
(2000000000…2000065535) mapped one to one (written by this process, which stays outside), so the
server inside can give runs their uids as usual. SIGTERM
and SIGINT are passed on to the command; the exit status is the command's.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

CLONE_NEWUSER = 0x10000000


def main() -> int:
    kinds = [k for k in sys.argv[1].split(",") if k]
    command = sys.argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(go_w)
        if libc.unshare(CLONE_NEWUSER) != 0:
            os.write(2, f"unshare(CLONE_NEWUSER): errno {ctypes.get_errno()}\n".encode())
            os._exit(125)
        os.write(ready_w, b"1")
        os.close(ready_w)
        if os.read(go_r, 1) != b"1":
            os._exit(125)
        for kind in kinds:
            with open(f"/proc/sys/user/max_{kind}_namespaces", "w") as f:
                f.write("0")
        os.execvp(command[0], command)
    os.close(ready_w)
    os.close(go_r)
    if os.read(ready_r, 1) != b"1":
        return 125
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as f:
            # The server's default run uids (--run-uid-base 2000000000, 65536 of them) too.
            f.write("0 0 65536\n2000000000 2000000000 65536\n")
    os.write(go_w, b"1")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _frame: os.kill(pid, s))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)
        except InterruptedError:
            continue


if __name__ == "__main__":
    sys.exit(main())
