/* tests/boundaries/lib_monitor.c - lib/ including a header of the monitor:
 * must not compile with lib/'s flags (make check-boundaries); lib/ is the
 * room below every other.
 */
#include "monitor.h"
