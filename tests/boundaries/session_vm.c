/* tests/boundaries/session_vm.c - session/ including struct vm: must not
 * compile with session/'s flags (make check-boundaries); the session asks
 * the VM through vm.h's functions.
 */
#include "vm_impl.h"
