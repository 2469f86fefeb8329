// zlib, bound once: gzip for the static page files, and inflating traces stored by earlier builds.
// The Swift side (StaticFiles, IPCLabStore's TraceCompression) hands buffers and never touches a z_stream.
#include "ipclab_zlib.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

size_t ipclab_deflate_bound(size_t len) {
    // compressBound covers the zlib wrapper; the gzip wrapper adds 18 bytes, well within 32.
    return (size_t)compressBound((uLong)len) + 32;
}

// Each thread keeps its deflate stream between calls (deflateReset), for the last level and wrapper
// it used: a new stream's ~270 KB of state, allocated, zeroed and faulted in again for every call
// (the server hands freed memory back to the kernel after each answer), took several times as long
// as deflating a 5 KB file. Freed when the thread ends.
struct cached_stream {
    z_stream s;
    int params;  // level | 16 for gzip
};

static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;

static void free_stream(void *p) {
    struct cached_stream *c = p;
    deflateEnd(&c->s);
    free(c);
}

static void make_stream_key(void) { (void)pthread_key_create(&stream_key, free_stream); }

/// The calling thread's stream for `level` and `gzip`, reset; NULL when zlib or memory fails.
static z_stream *thread_stream(int level, int gzip) {
    int params = level | (gzip ? 16 : 0);
    pthread_once(&stream_once, make_stream_key);
    struct cached_stream *c = pthread_getspecific(stream_key);
    if (c && c->params == params && deflateReset(&c->s) == Z_OK) return &c->s;
    if (c) {
        (void)pthread_setspecific(stream_key, NULL);
        free_stream(c);
    }
    c = calloc(1, sizeof *c);
    if (!c) return NULL;
    // windowBits 15, +16 for the gzip wrapper; memLevel 8 and the default strategy, as compress2.
    if (deflateInit2(&c->s, level, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(c);
        return NULL;
    }
    c->params = params;
    if (pthread_setspecific(stream_key, c) != 0) {
        free_stream(c);
        return NULL;
    }
    return &c->s;
}

long ipclab_deflate(const uint8_t *in, size_t len, uint8_t *out, size_t cap, int level, int gzip) {
    if (len > UINT_MAX || level < 1 || level > 9) return -1;
    z_stream *s = thread_stream(level, gzip);
    if (!s) return -1;
    s->next_in = (Bytef *)in;
    s->avail_in = (uInt)len;
    s->next_out = out;
    s->avail_out = cap > UINT_MAX ? UINT_MAX : (uInt)cap;
    int rc = deflate(s, Z_FINISH);
    long produced = (long)s->total_out;
    return rc == Z_STREAM_END ? produced : -1;
}

long ipclab_inflate(const uint8_t *in, size_t len, uint8_t *out, size_t cap) {
    if (len > UINT_MAX || cap > UINT_MAX) return -1;
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit(&s) != Z_OK) return -1;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)len;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    // Z_STREAM_END only when the whole stream is in `out`: a short, damaged or larger one fails.
    int rc = inflate(&s, Z_FINISH);
    long produced = (long)s.total_out;
    inflateEnd(&s);
    return rc == Z_STREAM_END ? produced : -1;
}

uint32_t ipclab_crc32(const uint8_t *in, size_t len) {
    uLong crc = crc32(0L, Z_NULL, 0);
    // zlib takes at most UINT_MAX bytes a call.
    while (len > 0) {
        uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;
        crc = crc32(crc, in, n);
        in += n;
        len -= n;
    }
    return (uint32_t)crc;
}
