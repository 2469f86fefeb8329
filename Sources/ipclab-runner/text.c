/*
 * text.c — the few strings the runner builds (set-up names with numbers, /proc paths, the re-exec's
 * argv), without stdio: the init and the runner never touch stdio's buffers or locks, which a
 * fork of a static glibc would copy half-held.
 */
#include "runner.h"

void runner_append(char *buf, size_t size, const char *text) {
    if (size == 0) return;
    size_t n = 0;
    while (n < size && buf[n]) n++;
    if (n == size) return; /* not terminated: leave it alone */
    while (*text && n + 1 < size) buf[n++] = *text++;
    buf[n] = 0;
}

void runner_append_u64(char *buf, size_t size, uint64_t value) {
    char digits[24];
    int i = (int)sizeof digits - 1;
    digits[i] = 0;
    do {
        digits[--i] = (char)('0' + value % 10);
        value /= 10;
    } while (value && i > 0);
    runner_append(buf, size, digits + i);
}

void runner_append_i64(char *buf, size_t size, int64_t value) {
    if (value < 0) {
        runner_append(buf, size, "-");
        runner_append_u64(buf, size, (uint64_t)0 - (uint64_t)value);
    } else {
        runner_append_u64(buf, size, (uint64_t)value);
    }
}
