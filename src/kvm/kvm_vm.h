/* src/kvm/kvm_vm.h - the KVM backend's own state and functions: the only
 * header that includes <linux/kvm.h>, included only by files in src/kvm/.
 */
#ifndef PTSHADOW_KVM_VM_H
#define PTSHADOW_KVM_VM_H

#include <linux/kvm.h>
#include <pthread.h>

#include "vm_impl.h"

/* A vCPU's dirty ring (dirty.c), shared with KVM. */
struct kvm_ring {
	struct kvm_dirty_gfn *gfns;
	uint32_t fetch;
	bool suspect;        /* it overflowed: find KVM's index again */
	unsigned idle_fulls; /* "full" exits in a row with nothing in it */
};

/* An AP's vCPU and its thread (smp.c). */
struct kvm_ap {
	struct vm *vm;
	unsigned cpu;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started; /* the thread runs (joined at kvm_destroy) */
	bool paused;  /* counted in ap_paused */
	bool stopped; /* its exit was an event: it runs no more */
	/* snapshot: its state at capture */
	struct kvm_regs snap_regs;
	struct kvm_sregs snap_sregs;
	struct kvm_fpu snap_fpu;
	struct kvm_lapic_state snap_lapic;
	struct kvm_mp_state snap_mp;
	struct kvm_vcpu_events snap_events;
};

enum kvm_ap_want { AP_RUN, AP_PAUSE, AP_EXIT };

struct kvm_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;

	/* several vCPUs (smp.c): ncpus 1 is the one-vCPU path, none of this used */
	unsigned ncpus;
	struct kvm_ap aps[PTS_MAX_CPUS]; /* [1, ncpus) */
	bool lock_ready;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t bsp_thread;
	enum kvm_ap_want ap_want;
	unsigned ap_paused;
	enum vm_event ap_event; /* the first AP event (VM_EV_NONE: none) */
	unsigned ap_event_cpu;
	char ap_error[512];
	struct kvm_lapic_state snap_lapic; /* the BSP's, with ncpus > 1 */

	/* dirty log (dirty.c is its only user) */
	struct kvm_ring rings[PTS_MAX_CPUS]; /* ring: one a vCPU, [0, ncpus) */
	uint32_t ring_entries, ring_bytes;
	uint64_t *dirty_scratch; /* clear/get: KVM's bitmap */

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
void kvm_vcpu_rips(struct vm *vm, uint64_t *rip, bool *known, unsigned n);
void kvm_destroy(struct vm *vm);

/* vcpu_loop.c: an I/O exit of the vCPU whose kvm_run this is, through the
 * port table (with several vCPUs, the caller holds the lock) */
enum vm_event kvm_io_exit(struct vm *vm, struct kvm_run *run);
/* io.c: port I/O; returns the event it caused (VM_EV_NONE to continue) */
enum vm_event io_dispatch(struct vm *vm, uint16_t port, bool out, unsigned size, uint8_t *data);

/* dirty.c: kvm_dirty_setup right after KVM_CREATE_VM (before the memslot and
 * the vCPUs), kvm_dirty_map_vcpu after each vCPU. */
int kvm_dirty_setup(struct vm *vm, uint64_t mem_size, enum vm_dirty_mode want, uint32_t ring_bytes,
                    char *err, size_t errlen);
int kvm_dirty_map_vcpu(struct vm *vm, unsigned cpu, int fd, char *err, size_t errlen);
int kvm_dirty_start(struct vm *vm);
int kvm_dirty_harvest(struct vm *vm, bool ring_full);
/* the same with the lock held (several vCPUs); full: the vCPU whose exit
 * said its ring is full, or -1 */
int kvm_dirty_harvest_locked(struct vm *vm, int full);
void kvm_dirty_free(struct vm *vm);

/* snapshot.c */
int kvm_snap_stop(struct vm *vm, bool restore);
int kvm_snap_save(struct vm *vm);
int kvm_snap_load(struct vm *vm);

/* vcpu_loop.c */
enum vm_event kvm_run_vcpu(struct vm *vm);

/* smp.c: several vCPUs.  kvm_smp_missing: what this KVM lacks for them (one
 * line), or NULL; kvm_smp_irqchip before any vCPU; kvm_smp_open_aps after the
 * BSP's; kvm_smp_start once every vCPU has its CPUID; kvm_smp_pause and
 * kvm_smp_resume around reading or setting the APs' state; kvm_smp_destroy
 * on every exit path. */
const char *kvm_smp_missing(int kvm_fd);
int kvm_smp_irqchip(struct vm *vm, char *err, size_t errlen);
int kvm_smp_open_aps(struct vm *vm, int mmap_size, char *err, size_t errlen);
int kvm_smp_start(struct vm *vm, char *err, size_t errlen);
int kvm_smp_pause(struct vm *vm);
void kvm_smp_resume(struct vm *vm);
void kvm_smp_destroy(struct vm *vm);
/* this thread's kvm_run, for the kick's handler (set before its KVM_RUN) */
void kvm_smp_thread_is(struct kvm_run *run);

#endif /* PTSHADOW_KVM_VM_H */
