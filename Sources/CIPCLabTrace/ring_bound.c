/* ring_bound.c — the recorder of CIPCLab (ring.c), compiled into the interposer: one copy of the
 * code that claims and publishes records, with the same bounds (the capacity copied at bind). */
#include "../CIPCLab/ring.c"

ipclab_record *ipclab_ring_record_bound(uint32_t slot) {
    if (!bound_ring || slot >= bound_capacity) return NULL;
    return ipclab_ring_record(bound_ring, slot);
}
