/* tests/boundaries/report_vm.c - report/ including struct vm: must not
 * compile with report/'s flags (make check-boundaries).
 */
#include "vm_impl.h"
