/* tests/boundaries/guest_monitor.c - guest/ including a host header of the
 * monitor: must not compile with guest/'s flags (make check-boundaries).
 */
#include "gmem.h"
