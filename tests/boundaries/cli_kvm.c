/* tests/boundaries/cli_kvm.c - cli/ including the KVM backend's private
 * header: must not compile with cli/'s flags (make check-boundaries); the
 * CLI knows backends through the backend table only.
 */
#include "kvm_vm.h"
