/* src/kvm/kvm_vm.h - the KVM backend's own state and functions: the only
 * header that includes <linux/kvm.h>, included only by files in src/kvm/.
 */
#ifndef PTSHADOW_KVM_VM_H
#define PTSHADOW_KVM_VM_H

#include <linux/kvm.h>

#include "vm_impl.h"

struct kvm_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;

	/* dirty log (dirty.c is its only user) */
	struct kvm_dirty_gfn *dirty_ring; /* ring: shared with KVM */
	uint32_t ring_entries, ring_bytes, ring_fetch;
	bool ring_suspect;        /* the ring overflowed: find KVM's index again */
	unsigned ring_idle_fulls; /* "full" exits in a row with nothing in the ring */
	uint64_t *dirty_scratch;  /* clear/get: KVM's bitmap */

	/* snapshot: the vCPU state at capture */
	struct kvm_regs snap_regs;
	struct kvm_sregs snap_sregs;
	struct kvm_fpu snap_fpu;
};

static inline struct kvm_vm *KVM(const struct vm *vm)
{
	return (struct kvm_vm *)vm->be;
}

/* kvm.c */
int kvm_open_vm(struct vm *vm, uint64_t mem_size, const struct vm_config *cfg, char *err,
                size_t errlen);
int x86_setup_cpuid(struct vm *vm, char *err, size_t errlen);
int x86_setup_pvh_regs(struct vm *vm, uint64_t entry, uint64_t start_info, char *err,
                       size_t errlen);

uint64_t kvm_cr3(struct vm *vm);
void kvm_dump_regs(struct vm *vm, FILE *f);
void kvm_destroy(struct vm *vm);

/* io.c: port I/O; returns the event it caused (VM_EV_NONE to continue) */
enum vm_event io_dispatch(struct vm *vm, uint16_t port, bool out, unsigned size, uint8_t *data);

/* dirty.c: kvm_dirty_setup right after KVM_CREATE_VM (before the memslot and
 * the vCPU), kvm_dirty_map_vcpu after the vCPU. */
int kvm_dirty_setup(struct vm *vm, uint64_t mem_size, enum vm_dirty_mode want, uint32_t ring_bytes,
                    char *err, size_t errlen);
int kvm_dirty_map_vcpu(struct vm *vm, char *err, size_t errlen);
int kvm_dirty_start(struct vm *vm);
int kvm_dirty_harvest(struct vm *vm, bool ring_full);
void kvm_dirty_free(struct vm *vm);

/* snapshot.c */
int kvm_snap_stop(struct vm *vm, bool restore);
int kvm_snap_save(struct vm *vm);
int kvm_snap_load(struct vm *vm);

/* vcpu_loop.c */
enum vm_event kvm_run_vcpu(struct vm *vm);

#endif /* PTSHADOW_KVM_VM_H */
