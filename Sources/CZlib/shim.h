// zlib (Debian's zlib1g-dev), for deflating stored traces.
#include <zlib.h>
