/*
 * ipclab_gallery.h — the gallery's example C programs (the repository's programs/), built into the
 * binary.
 *
 * gallery_sources.c takes each file's bytes with C23 `#embed`, as openapi_document.c does for
 * openapi.yaml: the files in programs/ stay the one source (students can also compile them by
 * hand), the server serves the sources it was built with wherever it is started from, and clang's
 * dependency file names each of them, so editing one rebuilds.
 */
#ifndef IPCLAB_GALLERY_H
#define IPCLAB_GALLERY_H

#include <stddef.h>

/* How many files the gallery holds. */
size_t ipclab_gallery_file_count(void);

/* The file name (e.g. "pipe_parent_child.c", NUL-terminated) of file `index`, or NULL past the end. */
const char *ipclab_gallery_file_name(size_t index);

/* The bytes of file `index` (not NUL-terminated) and their count in `*size`; NULL past the end. */
const unsigned char *ipclab_gallery_file_bytes(size_t index, size_t *size);

#endif
