// zlib, bound once: gzip for the static page files and the zlib streams of stored traces. The
// Swift side (StaticFiles, IPCLabStore's Deflate) hands buffers and never touches a z_stream.
#include "ipclab_zlib.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

size_t ipclab_deflate_bound(size_t len) {
    // compressBound covers the zlib wrapper; the gzip wrapper adds 18 bytes, well within 32.
    return (size_t)compressBound((uLong)len) + 32;
}

long ipclab_deflate(const uint8_t *in, size_t len, uint8_t *out, size_t cap, int level, int gzip) {
    if (len > UINT_MAX || level < 1 || level > 9) return -1;
    z_stream s;
    memset(&s, 0, sizeof s);
    // windowBits 15, +16 for the gzip wrapper; memLevel 8 and the default strategy, as compress2.
    if (deflateInit2(&s, level, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)len;
    s.next_out = out;
    s.avail_out = cap > UINT_MAX ? UINT_MAX : (uInt)cap;
    int rc = deflate(&s, Z_FINISH);
    long produced = (long)s.total_out;
    deflateEnd(&s);
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
