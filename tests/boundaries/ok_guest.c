/* tests/boundaries/ok_guest.c - what guest/ may include: its own headers, the
 * ABI and the compiler's freestanding ones.  Must compile with guest/'s flags
 * (make check-boundaries).
 */
#include <stdint.h>

#include <ptshadow/abi.h>

#include "pmap.h"
