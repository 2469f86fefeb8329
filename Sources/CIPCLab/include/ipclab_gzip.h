#ifndef IPCLAB_GZIP_H
#define IPCLAB_GZIP_H

#include <stddef.h>
#include <stdint.h>

/// Compresses `len` bytes at `in` into a gzip member (RFC 1952, zlib level 6) at `out`, which
/// holds `cap` bytes. Returns the compressed length, or -1 when it does not fit or zlib fails.
/// For the static page files: ipclab_gzip_bound(len) bytes of `out` always suffice.
long ipclab_gzip(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/// An upper bound on ipclab_gzip's output for `len` input bytes.
size_t ipclab_gzip_bound(size_t len);

#endif
