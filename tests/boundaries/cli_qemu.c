/* tests/boundaries/cli_qemu.c - cli/ including the QEMU backend's private
 * header: must not compile with cli/'s flags (make check-boundaries).
 */
#include "qemu_vm.h"
