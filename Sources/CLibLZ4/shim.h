// liblz4's frame format (Debian's liblz4-dev), for the run store's stored traces (TraceCompression).
// Only IPCLabStore links it (not CIPCLab, which the sandbox image links too).
#include <lz4frame.h>
