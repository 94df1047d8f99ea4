/* tests/boundaries/qemu_monitor.c - a backend including a header of the
 * monitor: must not compile with qemu/'s flags (make check-boundaries).
 */
#include "violation.h"
