// gzip for the static page files (Content-Encoding: gzip), through zlib: the one place the HTTP
// layer needs a C library besides libmicrohttpd.
#include "ipclab_gzip.h"

#include <string.h>
#include <zlib.h>

size_t ipclab_gzip_bound(size_t len) {
    // deflateBound for windowBits 15 + 16 (the gzip wrapper adds 18 bytes; zlib's bound covers it)
    return (size_t)compressBound((uLong)len) + 32;
}

long ipclab_gzip(const uint8_t *in, size_t len, uint8_t *out, size_t cap) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)len;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    int rc = deflate(&s, Z_FINISH);
    long produced = (long)s.total_out;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? produced : -1;
}
