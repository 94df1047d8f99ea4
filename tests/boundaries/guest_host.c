/* tests/boundaries/guest_host.c - guest/ including the host's C library: must
 * not compile with guest/'s flags, which are freestanding (make
 * check-boundaries).
 */
#include <stdio.h>
