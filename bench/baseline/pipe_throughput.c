/* pipe_throughput.c — the bare baseline of bench.throughput's pipe phase: the same kernel work with
 * nothing around it. A parent and a forked child, a pipe of the default size, the child write()s
 * TOTAL bytes in CHUNK-byte pieces, the parent read()s them in CHUNK-byte reads and touches one byte
 * per 64-byte line (as the lab's receiver checks them); timed from the moment both are ready to the
 * last byte read, with CLOCK_MONOTONIC. Prints one JSON line.
 *
 *   pipe_throughput [-b TOTAL_BYTES] [-c CHUNK_BYTES]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    int64_t total = 256 << 20, chunk = 64 << 10;
    int opt;
    while ((opt = getopt(argc, argv, "b:c:")) != -1) {
        if (opt == 'b') total = atoll(optarg);
        else if (opt == 'c') chunk = atoll(optarg);
        else { fprintf(stderr, "usage: %s [-b TOTAL_BYTES] [-c CHUNK_BYTES]\n", argv[0]); return 2; }
    }
    int data[2], ready[2];
    if (pipe(data) != 0 || pipe(ready) != 0) { perror("pipe"); return 1; }
    uint8_t *buf = malloc((size_t)chunk);
    if (!buf) return 1;
    for (int64_t i = 0; i < chunk; i++) buf[i] = (uint8_t)(i * 31 + (i >> 8) + 1);

    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        close(data[0]);
        char go;
        if (read(ready[0], &go, 1) != 1) _exit(1);
        for (int64_t sent = 0; sent < total;) {
            int64_t at = sent % chunk, n = chunk - at < total - sent ? chunk - at : total - sent;
            ssize_t w = write(data[1], buf + at, (size_t)n);
            if (w < 0) _exit(1);
            sent += w;
        }
        _exit(0);
    }
    close(data[1]);
    uint64_t sum = 0;
    int64_t got = 0;
    int64_t t0 = now_ns();
    if (write(ready[1], "g", 1) != 1) return 1;
    while (got < total) {
        ssize_t r = read(data[0], buf, (size_t)chunk);
        if (r <= 0) { perror("read"); return 1; }
        for (ssize_t i = (64 - got % 64) % 64; i < r; i += 64) sum += buf[i];
        got += r;
    }
    int64_t t1 = now_ns();
    waitpid(pid, NULL, 0);
    double s = (double)(t1 - t0) / 1e9;
    printf("{\"bytes\": %lld, \"chunk_bytes\": %lld, \"elapsed_ns\": %lld, \"gibps\": %.4f, \"touched_sum\": %llu}\n",
           (long long)got, (long long)chunk, (long long)(t1 - t0), (double)got / s / 1073741824.0, (unsigned long long)sum);
    return 0;
}
