/* tests/boundaries/monitor_src.c - monitor/ including a header of src/: must
 * not compile with monitor/'s flags (make check-boundaries).
 */
#include "util.h"
