#!/bin/sh
# Checks the C runner's jitter (participant_internal.h) against IPCLabCore/Grading/JitterGenerator.swift:
# builds the Swift generator as it is on this tree into a tiny program, and compares 200 delays for
# seeds and processes at the edges (negative seed, Int64.min/max, jitter 0 and 1, process 7).
# Usage: Tests/ipclab-runner/jitter_vector.sh HARNESS   (the participant_harness binary)
set -eu
harness=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
    sed 's/^public //; s/ public / /' "$root/Sources/IPCLabCore/Grading/JitterGenerator.swift"
    cat <<'SWIFT'
let a = CommandLine.arguments
var g = JitterGenerator(seed: Int64(a[1])!, process: Int(a[2])!, jitterUs: Int(a[3])!)
for _ in 0..<Int(a[4])! { print(g.next()) }
SWIFT
} > "$work/main.swift"
swiftc -O "$work/main.swift" -o "$work/jitter" >/dev/null
failed=0
for v in "0 0 100" "42 1 500" "-1 3 1000" "9223372036854775807 7 250" "-9223372036854775808 2 999" "123456789 0 0" "5 5 1"; do
    set -- $v
    "$work/jitter" "$1" "$2" "$3" 200 > "$work/swift.txt"
    "$harness" --jitter "$1" "$2" "$3" 200 > "$work/c.txt"
    if cmp -s "$work/swift.txt" "$work/c.txt"; then echo "jitter seed=$1 process=$2 jitter_us=$3: same 200 delays"
    else echo "jitter seed=$1 process=$2 jitter_us=$3: DIFFERENT"; failed=1; fi
done
exit $failed
