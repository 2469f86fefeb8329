/*
 * ipclab_openapi.h — the repository's openapi.yaml, built into the binary.
 *
 * openapi_document.c takes the file's bytes with C23 `#embed` at compile time, so the file in the
 * repository stays the one source (no generated copy to keep in step), the served document is the
 * one the binary was built with wherever it is started from, and clang's dependency file names
 * openapi.yaml, so editing it rebuilds.
 */
#ifndef IPCLAB_OPENAPI_H
#define IPCLAB_OPENAPI_H

#include <stddef.h>

/* The bytes of openapi.yaml (not NUL-terminated), and their count. */
const unsigned char *ipclab_openapi_yaml_bytes(void);
size_t ipclab_openapi_yaml_size(void);

#endif
