#!/bin/sh
# Builds the C participants' harness (static glibc, CIPCLab's C unchanged) and checks them against the
# Swift runner: the jitter's delays (jitter_vector.sh), then the records of the pipe, FIFO and process
# presets (compare_participant.py, against IPCLAB_BIN, default /work/main/.build/debug/ipclab).
# Usage: Tests/ipclab-runner/participant_check.sh [PRESET[@param=value...] ...]   (`make participant-check`)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.build/participant"
mkdir -p "$out"
cc=${CC:-gcc}
$cc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -static \
    -I"$root/Sources/CIPCLab/include" -I"$root/Sources/ipclab-runner" \
    -o "$out/participant_harness" \
    "$root/Tests/ipclab-runner/participant_harness.c" "$root"/Sources/ipclab-runner/participant*.c \
    "$root"/Sources/CIPCLab/ring.c "$root"/Sources/CIPCLab/limits.c "$root"/Sources/CIPCLab/pipes.c \
    "$root"/Sources/CIPCLab/system.c "$root"/Sources/CIPCLab/seccomp.c "$root"/Sources/CIPCLab/shm.c \
    "$root"/Sources/CIPCLab/sem.c "$root"/Sources/CIPCLab/mq.c "$root"/Sources/CIPCLab/sockets.c \
    "$root"/Sources/CIPCLab/signals.c "$root"/Sources/ipclab-runner/text.c
"$root/Tests/ipclab-runner/jitter_vector.sh" "$out/participant_harness"
if [ $# -eq 0 ]; then
    set -- pipe.hello pipe.byte_stream pipe.eof pipe.eof@close_unused_ends=false pipe.capacity \
        pipe.capacity@nonblocking=true pipe.nonblocking pipe.nonblocking@nonblocking=false pipe.duplex \
        pipe.duplex@pipes=1 pipe.pipeline pipe.sigpipe pipe.sigpipe@writer_closes_read_end=false pipe.inode pipe.inode@child=false fifo.rendezvous \
        fifo.rendezvous@nonblocking=true fifo.unrelated "$root"/Tests/ipclab-runner/scenarios/*.json \
        "$root"/Tests/ipclab-runner/scenarios/cpu_limit.json@cpu_ms=100
fi
python3 "$root/Tests/ipclab-runner/compare_participant.py" --harness "$out/participant_harness" "$@"
