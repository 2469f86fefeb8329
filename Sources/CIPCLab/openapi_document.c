/* openapi_document.c — openapi.yaml's bytes (see ipclab_openapi.h). The path is relative to this
 * file: the repository root is two directories up. */
#include "ipclab_openapi.h"

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc23-extensions"
static const unsigned char yaml[] = {
#embed "../../openapi.yaml"
};
#pragma clang diagnostic pop

const unsigned char *ipclab_openapi_yaml_bytes(void) { return yaml; }

size_t ipclab_openapi_yaml_size(void) { return sizeof yaml; }
