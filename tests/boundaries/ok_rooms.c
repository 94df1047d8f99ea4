/* tests/boundaries/ok_rooms.c - what the rooms of src/ above the session
 * include: compiled with the flags of cli/, report/ and session/ (make
 * check-boundaries), so that the probes beside it fail for their header only.
 */
#include <stdio.h>

#include "gmem.h"
#include "session.h"
#include "vm.h"
