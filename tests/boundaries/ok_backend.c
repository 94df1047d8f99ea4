/* tests/boundaries/ok_backend.c - what vm/ and the backends include: compiled
 * with the flags of vm/ and qemu/ (make check-boundaries), so that the probes
 * beside it fail for their header only.
 */
#include "clock.h"
#include "gmem.h"
#include "vm_impl.h"
