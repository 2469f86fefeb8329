// libdeflate (Debian's libdeflate-dev), for the run store's deflate of stored traces: the same zlib
// format zlib writes, made in about half zlib's time on a trace of a few KB. Only IPCLabStore links it
// (not CIPCLab, which the sandbox image links too).
#include <libdeflate.h>
