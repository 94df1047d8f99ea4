/* tests/boundaries/vm_monitor.c - vm/ including a header of the monitor:
 * must not compile with vm/'s flags (make check-boundaries); guest RAM and
 * the clock are lib/'s.
 */
#include "monitor.h"
