/* src/kvm/snapshot.c - the KVM backend's part of a snapshot: finish the port
 * I/O the vCPU is stopped in, and save or restore its registers, special
 * registers and FPU state (src/vm/snapshot.c does the RAM).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_vm.h"

static int snap_fail(struct vm *vm, const char *what)
{
	snprintf(vm->error, sizeof(vm->error), "%s: %s", what, strerror(errno));
	return -1;
}

/* Let KVM finish the port I/O the guest is stopped in, without running it. */
int kvm_snap_stop(struct vm *vm, bool restore)
{
	struct kvm_run *run = KVM(vm)->run;

	run->immediate_exit = 1;
	if (ioctl(KVM(vm)->vcpu_fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN)) {
		run->immediate_exit = 0;
		snprintf(vm->error, sizeof(vm->error), "KVM_RUN (complete I/O) did not stop");
		return -1;
	}
	run->immediate_exit = 0;
	return 0;
}

int kvm_snap_save(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);

	if (ioctl(k->vcpu_fd, KVM_GET_REGS, &k->snap_regs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_GET_SREGS, &k->snap_sregs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_GET_FPU, &k->snap_fpu) < 0)
		return snap_fail(vm, "saving vCPU state");
	return 0;
}

int kvm_snap_load(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);

	if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &k->snap_sregs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_SET_REGS, &k->snap_regs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_SET_FPU, &k->snap_fpu) < 0)
		return snap_fail(vm, "restoring vCPU state");
	return 0;
}
