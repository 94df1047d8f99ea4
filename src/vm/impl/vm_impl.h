/* src/vm/impl/vm_impl.h - the VM's inside, for src/vm/ and the backends only:
 * struct vm, the backend table, the console, hypercalls, the watchdog, the
 * loader and the dirty-log sets the backends harvest into.
 */
#ifndef PTSHADOW_VM_IMPL_H
#define PTSHADOW_VM_IMPL_H

#include "vm.h"

/* ---- ELF / PVH loading (loader.c, pvh.c) ------------------------------- */
struct elf_image {
	uint64_t pvh_entry;       /* XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t lowest, highest; /* physical extent loaded */
	unsigned nsegments;
};

/* Check the image against m and copy its segments in; with m->base NULL,
 * only check it (every backend does, before it starts anything). */
int elf_load(const char *path, struct gmem *m, struct elf_image *img, char *err, size_t errlen);
int pvh_setup(struct gmem *m, const char *cmdline, uint64_t *start_info_gpa, char *err,
              size_t errlen);

/* ---- the VM ------------------------------------------------------------- */
/* bytes of console output one op (a stop of the guest) may show; the rest is counted */
#define CONSOLE_OP_MAX 8192u

struct console {
	FILE *out;          /* where finished lines go */
	const char *prefix; /* "guest: " when out is a terminal/stdout */
	char line[256];     /* escaped */
	size_t len;
	char tail[4096]; /* last bytes, raw, for reports */
	size_t tail_len;
	size_t shown;        /* bytes of this op shown */
	uint64_t held;       /* bytes of this op not shown (over CONSOLE_OP_MAX) */
	uint64_t held_total; /* the same, for the whole run */
};

/* What a backend can do beyond running the guest. */
#define VM_CAP_DIRTY_LOG 0x1u /* a log of the pages the guest wrote */
#define VM_CAP_SNAPSHOT  0x2u /* reset to a snapshot without a reboot */
#define VM_CAP_REGS      0x4u /* read the vCPU's registers */

/* The backend's table (Solo5 hvt's core/hvt_kvm split). */
struct vm_backend {
	const char *name;
	/* what it can do, for the command line and banners (vm.h's vm_backend_*) */
	unsigned dirty_logs; /* the logs it keeps: 1u << enum vm_dirty_mode */
	/* a refusal of a log it does not keep, in its own words (NULL: "needs
	 * --backend" the backend that keeps it) */
	const char *dirty_refusal;
	/* of those, the ones it does not keep with more than one vCPU (1u << mode),
	 * and why */
	unsigned dirty_logs_one_cpu;
	const char *dirty_one_cpu_why;
	bool accel_choice; /* --qemu-accel picks its accelerator (tcg, kvm) */
	unsigned cpus_max; /* vCPUs it runs at most (--cpus) */
	bool runs_qemu;    /* --qemu names the binary it runs */
	bool engine;       /* runs the guest itself, not through a manager (bench: side by side) */
	/* --qemu-accel kvm refused, in its own words (NULL: it has the choice,
	 * or does not run QEMU) */
	const char *accel_refusal;
	/* NULL where it is always there; else what a machine without it lacks */
	const char *missing;
	/* --domain-xml: the template it starts its guest from can be read and
	 * names nothing it does not fill in (NULL: it takes no template, nor --connect) */
	int (*template_check)(const char *path, char *err, size_t errlen);
	bool (*available)(const struct vm_config *cfg, char *why, size_t len);
	int (*create)(struct vm *vm, const char *guest_path, const struct vm_config *cfg, char *err,
	              size_t errlen);
	enum vm_event (*run)(struct vm *vm);
	void (*destroy)(struct vm *vm);
	uint64_t (*cr3)(struct vm *vm);
	/* the vCPU's own CR3 while it is stopped (NULL: cr3 is already that) */
	int (*cr3_actual)(struct vm *vm, uint64_t *cr3);
	void (*dump_regs)(struct vm *vm, FILE *f);
	/* optional: each vCPU's RIP (vCPU v has LAPIC ID v), for a guest that
	 * stopped making progress; known[v] false where it could not be read */
	void (*vcpu_rips)(struct vm *vm, uint64_t *rip, bool *known, unsigned n);
	/* dirty log: start logging; move what was logged into vm->dirty_fresh */
	int (*dirty_start)(struct vm *vm);
	int (*dirty_harvest)(struct vm *vm, bool ring_full);
	/* snapshot: stop = the guest stores nothing until it runs again (at a
	 * restore: until load); save = keep its CPU state (at take); load = the
	 * CPU state back once RAM is */
	int (*snap_stop)(struct vm *vm, bool restore);
	int (*snap_save)(struct vm *vm);
	int (*snap_load)(struct vm *vm);
	/* optional: copy all of guest RAM into dst (laid out as vm->mem) faster
	 * than a memcpy through the mapping would; 0, or -1 to fall back */
	int (*ram_copy)(struct vm *vm, uint8_t *dst);
	/* optional: what this backend's speed on this machine depends on (the
	 * KVM module; the QEMU binary), for `--backend auto`'s cache key */
	void (*identity)(const struct vm_config *cfg, char *buf, size_t len);
	/* optional, where the guest runs on its own (QEMU): let a guest stopped
	 * at an event go on now; run then only waits for its next event */
	void (*release)(struct vm *vm);
};
extern const struct vm_backend vm_backend_kvm;
extern const struct vm_backend vm_backend_qemu;
extern const struct vm_backend vm_backend_libvirt;
/* --domain-xml FILE (NULL: the built-in template) can be read and names no
 * placeholder the libvirt backend does not fill in; else err names it */
int libvirt_template_check(const char *path, char *err, size_t errlen);

struct vm {
	const struct vm_backend *backend;
	enum vm_backend_kind kind;
	bool accel_kvm; /* QEMU with -accel kvm */
	bool mttcg;     /* QEMU's TCG with a thread per vCPU (vm_config.parallel) */
	unsigned caps;  /* VM_CAP_* */
	void *be;       /* the backend's own state */
	struct gmem mem;
	uint64_t tsc_khz;
	struct console cons;

	/* filled by the run loop for the caller */
	enum vm_event event;
	uint32_t exit_status;
	uint64_t desc_gpa;
	struct pts_hc_panic panic;
	char error[512];
	uint64_t exits, hypercalls;
	/* the CR3 the vCPU last confirmed (vm_cr3_verify), at that call count */
	uint64_t cr3_confirmed, cr3_confirmed_at;
	uint64_t guest_wakes; /* calls the guest halted in and was woken from (QEMU) */
	unsigned timeout_s;
	/* the watchdog: the guest must make progress (vm_progress) before
	 * deadline_ns (0: none); vm_run arms it only after progress, so a guest
	 * that keeps calling without getting anywhere is ended all the same */
	uint64_t deadline_ns;
	bool progress;

	/* dirty log: the backend harvests into dirty_fresh, vm_dirty_sync
	 * publishes it as dirty_last and adds it to dirty_since */
	enum vm_dirty_mode dirty_mode; /* in use, never AUTO */
	bool dirty_logging;            /* vm_dirty_start has run */
	struct pfn_set dirty_fresh;    /* harvested, not yet published */
	struct pfn_set dirty_last;     /* the guest's writes between the last two syncs */
	struct pfn_set dirty_since;    /* written since the snapshot (restore set) */
	uint64_t dirty_words;
	uint64_t dirty_syncs, dirty_harvests, dirty_harvest_ns;
	uint64_t ring_full_exits, ring_overflows; /* KVM's ring: "full" exits, entries lost */
	uint64_t ring_entries_read;               /* log entries read (KVM: one per logged store) */
};

int pfn_set_init(struct pfn_set *p, uint64_t words);
int pfn_set_add(struct pfn_set *p, uint64_t pfn);
void pfn_set_clear(struct pfn_set *p);
void pfn_set_free(struct pfn_set *p);
int vm_dirty_alloc(struct vm *vm, uint64_t mem_size, char *err, size_t errlen);
int vm_dirty_harvest(struct vm *vm, bool ring_full);
void vm_dirty_since_clear(struct vm *vm);
void vm_dirty_free(struct vm *vm);
/* Give the guest --timeout seconds from now (vm_run does after progress; a
 * backend that runs the guest on the host's behalf, as a reset does, too). */
void vm_deadline_arm(struct vm *vm);

/* ram.c: guest RAM's mapping, for the backends' create; vm_destroy unmaps
 * it.  0, or -1 with errno. */
int vm_ram_anon(struct vm *vm, uint64_t size);
/* fd's first `low` bytes at 0, the next `high` at high_base (the hole between) */
int vm_ram_map_fd(struct vm *vm, int fd, uint64_t low, uint64_t high, uint64_t high_base);
void vm_ram_unmap(struct vm *vm);

/* console.c */
void console_putc(struct console *c, char ch);
void console_flush(struct console *c);
/* the guest stopped (an op is done, or the VM ends): say how much was not shown */
void console_end_op(struct console *c);

/* hypercalls: a table, one entry per PTS_HC_* */
struct hypercall {
	const char *name;
	uint32_t record_size;
	enum vm_event (*handler)(struct vm *vm, uint64_t gpa, const void *record);
};
const struct hypercall *hypercall_lookup(unsigned nr);
enum vm_event hypercall_dispatch(struct vm *vm, unsigned nr, uint64_t gpa);

/* watchdog.c: SIGALRM after ns nanoseconds, then every 10 ms until disarmed */
void watchdog_arm(uint64_t ns);
void watchdog_disarm(void);
bool watchdog_fired(void);

#endif /* PTSHADOW_VM_IMPL_H */
