/* tests/boundaries/monitor_tests.c - monitor/ including the test library's
 * synthetic image: must not compile with monitor/'s flags (make
 * check-boundaries).
 */
#include "synth.h"
