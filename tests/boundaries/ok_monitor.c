/* tests/boundaries/ok_monitor.c - what monitor/ may include: its own headers,
 * the ABI and the system's.  Must compile with monitor/'s flags (make
 * check-boundaries), so that the probes beside it fail for their header only.
 */
#include <stdio.h>

#include <ptshadow/abi.h>

#include "gmem.h"
#include "monitor.h"
