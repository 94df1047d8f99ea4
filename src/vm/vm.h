/* src/vm/vm.h - the ptshadow virtual machine: one vCPU on /dev/kvm, guest RAM
 * in one memslot at guest-physical 0, a COM1 console and the hypercall ports.
 *
 * Backend split as in Solo5 hvt: kvm.c does the ioctls, x86_boot.c the CPUID
 * and PVH register state, loader.c and pvh.c are pure functions over a
 * memory image (unit-tested without KVM), io.c dispatches port I/O from a
 * table, vcpu_loop.c is the run loop.
 */
#ifndef PTSHADOW_VMM_H
#define PTSHADOW_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ptshadow/abi.h>

#define VM_MEM_MIN_MIB 16u
#define VM_MEM_MAX_MIB (16u * 1024u)
#define VM_MEM_DEFAULT_MIB 128u

/* Fixed guest-physical layout of what the VMM writes before boot. */
#define VM_START_INFO_GPA 0x6000ull
#define VM_MEMMAP_GPA 0x6100ull
#define VM_MEMMAP_MAX 8u
#define VM_CMDLINE_GPA 0x7000ull
#define VM_CMDLINE_MAX 4096u
#define VM_LOW_RESERVED 0x100000ull /* below 1 MiB: boot data, never RAM */

/* Exit statuses of the ptshadow command. */
enum {
	EXIT_CLEAN = 0,
	EXIT_FINDING = 1,  /* violation, guest panic, triple fault, hang */
	EXIT_USAGE = 2,    /* bad usage or bad input */
	EXIT_INTERNAL = 3, /* internal or KVM failure */
};

/* ---- checked guest-physical access (every gpa the VMM touches) --------- */
struct guest_mem {
	uint8_t *base;
	uint64_t size;
};

/* A host pointer to [gpa, gpa + len) or NULL if any of it is outside RAM or
 * the arithmetic overflows; align (a power of two, 1 = any) is checked too. */
void *gpa_checked_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len, uint64_t align);

/* ---- ELF / PVH loading (loader.c, pvh.c) ------------------------------- */
struct elf_image {
	uint64_t pvh_entry; /* XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t lowest, highest; /* physical extent loaded */
	unsigned nsegments;
};

int elf_load(const char *path, struct guest_mem *m, struct elf_image *img, char *err, size_t errlen);
int pvh_setup(struct guest_mem *m, const char *cmdline, uint64_t *start_info_gpa, char *err,
	      size_t errlen);

/* ---- the VM ------------------------------------------------------------- */
struct console {
	FILE *out;          /* where finished lines go */
	const char *prefix; /* "guest: " when out is a terminal/stdout */
	char line[256];
	size_t len;
	char tail[4096];    /* last bytes, for reports */
	size_t tail_len;
};

enum vm_event {
	VM_EV_NONE = 0,
	VM_EV_EXIT,      /* guest exited through PTS_HC_EXIT; exit_status set */
	VM_EV_REGISTER,  /* guest registered its descriptor; desc_gpa set */
	VM_EV_OP_DONE,   /* guest signalled the ring */
	VM_EV_PANIC,     /* guest panic; panic record set */
	VM_EV_SHUTDOWN,  /* triple fault / shutdown */
	VM_EV_HLT,       /* guest halted with interrupts off */
	VM_EV_TIMEOUT,   /* watchdog */
	VM_EV_GUEST_ERROR, /* bad hypercall, bad port access, internal error */
	VM_EV_KVM_ERROR,
	VM_EV_INTERRUPTED, /* SIGINT/SIGTERM */
};

#include <signal.h>
extern volatile sig_atomic_t vm_interrupted;

/* How the VMM learns which pages the guest wrote (dirty.c). */
enum vm_dirty_mode {
	VM_DIRTY_AUTO = 0, /* ring if KVM has it, else clear, else get */
	VM_DIRTY_RING,     /* KVM_CAP_DIRTY_LOG_RING */
	VM_DIRTY_CLEAR,    /* KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG (manual protect) */
	VM_DIRTY_GET,      /* KVM_GET_DIRTY_LOG alone */
};

/* A set of page frame numbers: a bitmap to test, a list to walk. */
struct pfn_set {
	uint64_t *bits;
	uint64_t *pfns;
	uint64_t n, cap;
	bool all; /* the log lost entries: any page may be in the set */
};

struct kvm_dirty_gfn;

struct vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_mem mem;
	uint64_t tsc_khz;
	struct console cons;

	/* filled by the run loop for the caller */
	enum vm_event event;
	uint32_t exit_status;
	uint64_t desc_gpa;
	struct pts_hc_panic panic;
	char error[512];
	uint64_t exits, hypercalls;
	unsigned timeout_s;
	volatile int timed_out;

	/* KVM dirty log (dirty.c is its only user) */
	enum vm_dirty_mode dirty_mode;  /* the backend in use, never AUTO */
	bool dirty_logging;             /* vm_dirty_start has run */
	struct kvm_dirty_gfn *dirty_ring; /* ring: shared with KVM */
	uint32_t ring_entries, ring_bytes, ring_fetch;
	bool ring_suspect;              /* the ring overflowed: find KVM's index again */
	unsigned ring_idle_fulls;       /* "full" exits in a row with nothing in the ring */
	uint64_t *dirty_scratch;        /* clear/get: KVM's bitmap */
	struct pfn_set dirty_fresh;     /* harvested, not yet published */
	struct pfn_set dirty_last;      /* the guest's writes between the last two syncs */
	struct pfn_set dirty_since;     /* written since the snapshot (restore set) */
	uint64_t dirty_words;
	uint64_t dirty_syncs, dirty_harvests, dirty_harvest_ns, ring_full_exits, ring_overflows;
	uint64_t ring_entries_read;      /* ring entries harvested (one per logged store here) */
};

struct vm_config {
	unsigned mem_mib;
	unsigned timeout_s;
	const char *cmdline;
	FILE *console;
	const char *console_prefix;
	enum vm_dirty_mode dirty_mode;
	uint32_t dirty_ring_bytes; /* 0: 1 MiB, or what KVM allows */
};

/* Create the VM, load the guest, set up PVH boot.  Returns EXIT_USAGE for a
 * bad guest image (err names it), EXIT_INTERNAL for KVM failures, else 0. */
int vm_create(struct vm *vm, const char *guest_path, const struct vm_config *cfg, char *err,
	      size_t errlen);
void vm_destroy(struct vm *vm);

/* Run the vCPU until the next event the caller must handle. */
enum vm_event vm_run(struct vm *vm);
const char *vm_event_name(enum vm_event ev);
void vm_dump_regs(struct vm *vm, FILE *f);
uint64_t vm_cr3(struct vm *vm);

/* dirty.c: vm_dirty_setup right after KVM_CREATE_VM (before the memslot and
 * the vCPU), vm_dirty_map_vcpu after the vCPU, vm_dirty_start when the log
 * is first needed (after boot).  vm_dirty_harvest moves what
 * KVM logged into dirty_fresh (the run loop calls it when the ring fills);
 * vm_dirty_sync harvests and publishes: dirty_last = the pages written since
 * the previous sync, also added to dirty_since.  vm_page_dirty tests
 * dirty_last.  A set whose `all` is set lost track (a dirty ring that
 * overflowed): treat every page as written. */
const char *vm_dirty_mode_name(enum vm_dirty_mode m);
int vm_dirty_mode_parse(const char *s, enum vm_dirty_mode *out);
int vm_dirty_setup(struct vm *vm, uint64_t mem_size, enum vm_dirty_mode want, uint32_t ring_bytes,
		   char *err, size_t errlen);
int vm_dirty_map_vcpu(struct vm *vm, char *err, size_t errlen);
int vm_dirty_start(struct vm *vm);
int vm_dirty_harvest(struct vm *vm, bool ring_full);
/* ring only: read it now (between op batches) so that it is less likely to
 * overflow before the next sync; a no-op for the bitmap backends */
int vm_dirty_poll(struct vm *vm);
int vm_dirty_sync(struct vm *vm);
void vm_dirty_since_clear(struct vm *vm);
bool vm_page_dirty(void *vm, uint64_t gpa); /* struct gmem page_dirty hook */
void vm_dirty_free(struct vm *vm);

/* snapshot.c: capture after boot, restore by copying back dirty pages */
#include <linux/kvm.h>
struct vm_snapshot {
	bool valid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint8_t *mem;      /* copy of guest RAM at capture */
	uint64_t restores, pages_restored; /* pages_restored: last restore */
};
int vm_snapshot_take(struct vm *vm, struct vm_snapshot *snap);
/* host_gpa/host_len: a range the host wrote itself (restored too) */
int vm_snapshot_restore(struct vm *vm, struct vm_snapshot *snap, uint64_t host_gpa,
			uint64_t host_len);
void vm_snapshot_free(struct vm *vm, struct vm_snapshot *snap);

/* kvm.c */
int kvm_open_vm(struct vm *vm, uint64_t mem_size, const struct vm_config *cfg, char *err,
		size_t errlen);
int x86_setup_cpuid(struct vm *vm, char *err, size_t errlen);
int x86_setup_pvh_regs(struct vm *vm, uint64_t entry, uint64_t start_info, char *err,
		       size_t errlen);

/* io.c: port I/O; returns the event it caused (VM_EV_NONE to continue) */
enum vm_event io_dispatch(struct vm *vm, uint16_t port, bool out, unsigned size, uint8_t *data);

/* console */
void console_putc(struct console *c, char ch);
void console_flush(struct console *c);

/* hypercalls: a table, one entry per PTS_HC_* */
struct hypercall {
	const char *name;
	uint32_t record_size;
	enum vm_event (*handler)(struct vm *vm, uint64_t gpa, const void *record);
};
const struct hypercall *hypercall_lookup(unsigned nr);
enum vm_event hypercall_dispatch(struct vm *vm, unsigned nr, uint64_t gpa);

#endif /* PTSHADOW_VMM_H */
