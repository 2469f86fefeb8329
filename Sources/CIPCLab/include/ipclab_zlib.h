#ifndef IPCLAB_ZLIB_H
#define IPCLAB_ZLIB_H

#include <stddef.h>
#include <stdint.h>

// The project's one binding of zlib: gzip for the static page files (Content-Encoding: gzip),
// inflating the zlib streams of traces stored by earlier builds (IPCLabStore's TraceCompression),
// and the CRC-32 of the store journal's records (IPCLabStore's StoreJournal).

/// Compresses `len` bytes at `in` into `out`, which holds `cap` bytes, at zlib `level` (1…9):
/// a gzip member (RFC 1952) when `gzip` is nonzero, else a zlib stream (RFC 1950, what
/// zlib's compress2 makes). Returns the compressed length, or -1 when it does not fit or zlib
/// fails. ipclab_deflate_bound(len) bytes of `out` always suffice.
long ipclab_deflate(const uint8_t *in, size_t len, uint8_t *out, size_t cap, int level, int gzip);

/// An upper bound on ipclab_deflate's output for `len` input bytes, either wrapper.
size_t ipclab_deflate_bound(size_t len);

/// Inflates the zlib stream (RFC 1950) of `len` bytes at `in` into `out`, which holds `cap`
/// bytes. Returns the inflated length, or -1 when the stream is damaged, incomplete, or
/// inflates to more than `cap` bytes.
long ipclab_inflate(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/// zlib's CRC-32 (ISO-HDLC, as gzip's) of `len` bytes at `in`: the store journal's record check.
uint32_t ipclab_crc32(const uint8_t *in, size_t len);

#endif
