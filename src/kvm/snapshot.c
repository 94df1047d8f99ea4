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
	return kvm_smp_pause(vm); /* the APs too, until save or load */
}

/* An AP, paused: everything that makes it where it was (its LAPIC, its run
 * state, pending events).  0, or -1. */
static int ap_save(struct kvm_ap *ap)
{
	return ioctl(ap->fd, KVM_GET_REGS, &ap->snap_regs) < 0 ||
	               ioctl(ap->fd, KVM_GET_SREGS, &ap->snap_sregs) < 0 ||
	               ioctl(ap->fd, KVM_GET_FPU, &ap->snap_fpu) < 0 ||
	               ioctl(ap->fd, KVM_GET_LAPIC, &ap->snap_lapic) < 0 ||
	               ioctl(ap->fd, KVM_GET_MP_STATE, &ap->snap_mp) < 0 ||
	               ioctl(ap->fd, KVM_GET_VCPU_EVENTS, &ap->snap_events) < 0
	           ? -1
	           : 0;
}

static int ap_load(struct kvm_ap *ap)
{
	return ioctl(ap->fd, KVM_SET_SREGS, &ap->snap_sregs) < 0 ||
	               ioctl(ap->fd, KVM_SET_REGS, &ap->snap_regs) < 0 ||
	               ioctl(ap->fd, KVM_SET_FPU, &ap->snap_fpu) < 0 ||
	               ioctl(ap->fd, KVM_SET_LAPIC, &ap->snap_lapic) < 0 ||
	               ioctl(ap->fd, KVM_SET_VCPU_EVENTS, &ap->snap_events) < 0 ||
	               ioctl(ap->fd, KVM_SET_MP_STATE, &ap->snap_mp) < 0
	           ? -1
	           : 0;
}

/* With several vCPUs: the BSP's LAPIC and every AP's state, then the APs go on. */
static int smp_save(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);
	int rc = ioctl(k->vcpu_fd, KVM_GET_LAPIC, &k->snap_lapic) < 0 ? -1 : 0;

	for (unsigned i = 1; i < k->ncpus && rc == 0; i++)
		rc = ap_save(&k->aps[i]);
	kvm_smp_resume(vm);
	return rc < 0 ? snap_fail(vm, "saving the APs' state") : 0;
}

static int smp_load(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);
	int rc = ioctl(k->vcpu_fd, KVM_SET_LAPIC, &k->snap_lapic) < 0 ? -1 : 0;

	for (unsigned i = 1; i < k->ncpus && rc == 0; i++)
		rc = ap_load(&k->aps[i]);
	kvm_smp_resume(vm);
	return rc < 0 ? snap_fail(vm, "restoring the APs' state") : 0;
}

int kvm_snap_save(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);

	if (ioctl(k->vcpu_fd, KVM_GET_REGS, &k->snap_regs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_GET_SREGS, &k->snap_sregs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_GET_FPU, &k->snap_fpu) < 0)
		return snap_fail(vm, "saving vCPU state");
	return k->ncpus > 1 ? smp_save(vm) : 0;
}

int kvm_snap_load(struct vm *vm)
{
	struct kvm_vm *k = KVM(vm);

	if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &k->snap_sregs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_SET_REGS, &k->snap_regs) < 0 ||
	    ioctl(k->vcpu_fd, KVM_SET_FPU, &k->snap_fpu) < 0)
		return snap_fail(vm, "restoring vCPU state");
	return k->ncpus > 1 ? smp_load(vm) : 0;
}
