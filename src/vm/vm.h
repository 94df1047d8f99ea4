/* src/vm/vm.h - the backend-neutral ptshadow VM: guest RAM the host maps, a
 * console, the events the guest causes, its panic record, a watchdog, the
 * dirty-page log and snapshots, over a table of backend operations.
 *
 * Split as in Solo5 hvt: this room (src/vm/) knows no hypervisor: loader.c
 * and pvh.c are pure functions over a memory image, hypercall.c the
 * hypercall table, console.c the console, vm.c picks the backend and holds
 * the dirty-log sets, snapshot.c copies RAM back.  src/kvm/ is the only room
 * that includes <linux/kvm.h>; src/qemu/ starts and drives QEMU.
 */
#ifndef PTSHADOW_VM_H
#define PTSHADOW_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ptshadow/abi.h>

#include "gmem.h" /* guest RAM (struct gmem) and its one checked accessor */

#define VM_MEM_MIN_MIB     16u
#define VM_MEM_MAX_MIB     (16u * 1024u)
#define VM_MEM_DEFAULT_MIB 128u
#define VM_CPUS_MAX        PTS_MAX_CPUS /* --cpus: 1..8 */

/* Fixed guest-physical layout of what the VMM writes before boot. */
#define VM_START_INFO_GPA 0x6000ull
#define VM_MEMMAP_GPA     0x6100ull
#define VM_MEMMAP_MAX     8u
#define VM_CMDLINE_GPA    0x7000ull
#define VM_CMDLINE_MAX    4096u
#define VM_LOW_RESERVED   0x100000ull /* below 1 MiB: boot data, never RAM */

/* Exit statuses of the ptshadow command. */
enum {
	EXIT_CLEAN = 0,
	EXIT_FINDING = 1,  /* violation, guest panic, triple fault, hang */
	EXIT_USAGE = 2,    /* bad usage or bad input */
	EXIT_INTERNAL = 3, /* internal or backend (KVM, QEMU) failure */
};

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

enum vm_event {
	VM_EV_NONE = 0,
	VM_EV_EXIT,        /* guest exited through PTS_HC_EXIT; exit_status set */
	VM_EV_REGISTER,    /* guest registered its descriptor; desc_gpa set */
	VM_EV_OP_DONE,     /* guest signalled the ring */
	VM_EV_PANIC,       /* guest panic; panic record set */
	VM_EV_SHUTDOWN,    /* triple fault / shutdown */
	VM_EV_HLT,         /* guest halted with interrupts off */
	VM_EV_TIMEOUT,     /* watchdog */
	VM_EV_GUEST_ERROR, /* bad hypercall, bad port access, a lie about its CR3 */
	VM_EV_KVM_ERROR,   /* the backend failed (KVM, QEMU, QMP, libvirt): not the guest */
	VM_EV_INTERRUPTED, /* SIGINT/SIGTERM */
};

#include <signal.h>
extern volatile sig_atomic_t vm_interrupted;

/* Which hypervisor runs the guest. */
enum vm_backend_kind {
	VM_BACKEND_AUTO = 0, /* KVM when /dev/kvm opens, else QEMU */
	VM_BACKEND_KVM,      /* ptshadow's own vCPU loop on /dev/kvm */
	VM_BACKEND_QEMU,     /* qemu-system-x86_64 with RAM shared with us */
	VM_BACKEND_LIBVIRT,  /* the same QEMU, as a transient libvirt domain */
};
const char *vm_backend_name(enum vm_backend_kind k);
int vm_backend_parse(const char *s, enum vm_backend_kind *out);
/* KVM when /dev/kvm opens read-write, else QEMU */
enum vm_backend_kind vm_backend_resolve(enum vm_backend_kind k);
/* can this machine run k (with cfg's --qemu, --connect)?  If not, why */
struct vm_config;
bool vm_backend_available(enum vm_backend_kind k, const struct vm_config *cfg, char *why,
                          size_t len);

/* How the VM learns which pages the guest wrote. */
enum vm_dirty_mode {
	VM_DIRTY_AUTO = 0, /* KVM: ring, else clear, else get; QEMU: plugin, else none */
	VM_DIRTY_RING,     /* KVM_CAP_DIRTY_LOG_RING */
	VM_DIRTY_CLEAR,    /* KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG (manual protect) */
	VM_DIRTY_GET,      /* KVM_GET_DIRTY_LOG alone */
	VM_DIRTY_PLUGIN,   /* QEMU: the ptsdirty TCG plugin logs every guest store */
	VM_DIRTY_NONE,     /* no log: every page counts as written (full checks) */
};
const char *vm_dirty_mode_name(enum vm_dirty_mode m);
int vm_dirty_mode_parse(const char *s, enum vm_dirty_mode *out);

/* A set of page frame numbers: a bitmap to test, a list to walk. */
struct pfn_set {
	uint64_t *bits;
	uint64_t *pfns;
	uint64_t n, cap;
	bool all; /* the log lost entries: any page may be in the set */
};
int pfn_set_init(struct pfn_set *p, uint64_t words);
int pfn_set_add(struct pfn_set *p, uint64_t pfn);
void pfn_set_clear(struct pfn_set *p);
void pfn_set_free(struct pfn_set *p);

/* What a backend can do beyond running the guest. */
#define VM_CAP_DIRTY_LOG 0x1u /* a log of the pages the guest wrote */
#define VM_CAP_SNAPSHOT  0x2u /* reset to a snapshot without a reboot */
#define VM_CAP_REGS      0x4u /* read the vCPU's registers */

struct vm;
struct vm_config;

/* The backend's table (Solo5 hvt's core/hvt_kvm split). */
struct vm_backend {
	const char *name;
	bool (*available)(const struct vm_config *cfg, char *why, size_t len);
	int (*create)(struct vm *vm, const char *guest_path, const struct vm_config *cfg, char *err,
	              size_t errlen);
	enum vm_event (*run)(struct vm *vm);
	void (*destroy)(struct vm *vm);
	uint64_t (*cr3)(struct vm *vm);
	/* the vCPU's own CR3 while it is stopped (NULL: cr3 is already that) */
	int (*cr3_actual)(struct vm *vm, uint64_t *cr3);
	void (*dump_regs)(struct vm *vm, FILE *f);
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
/* the backend's identity (vm_backend.identity), "" when it has none */
void vm_backend_identity(enum vm_backend_kind k, const struct vm_config *cfg, char *buf,
                         size_t len);
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

struct vm_config {
	enum vm_backend_kind backend;
	const char *qemu_path;   /* QEMU: the binary (NULL: qemu-system-x86_64 on PATH) */
	bool qemu_kvm;           /* QEMU: -accel kvm instead of TCG */
	const char *libvirt_uri; /* libvirt: --connect (NULL: qemu:///system) */
	const char *libvirt_xml; /* libvirt: --domain-xml template (NULL: the built-in one) */
	unsigned mem_mib;
	unsigned cpus; /* vCPUs, 1..VM_CPUS_MAX (0: 1); the guest is told with cpus=N */
	unsigned timeout_s;
	const char *cmdline;
	FILE *console;
	const char *console_prefix;
	enum vm_dirty_mode dirty_mode;
	uint32_t dirty_ring_bytes; /* 0: 1 MiB, or what KVM allows */
};

/* The guest image as every backend would take it, in mem_mib of RAM: 0, or
 * EXIT_USAGE with err naming the file (commands check it before any VM). */
int vm_check_image(const char *guest_path, unsigned mem_mib, char *err, size_t errlen);

/*
 * How long a guest waiting for ptshadow spins before it halts
 * (docs/performance.md, "A guest that waits").  On a CPU of its own, where it
 * costs nobody anything, it spins through any incremental check: waking a
 * halted guest takes tens of microseconds when the wake-up crosses CPUs.  On
 * the CPU ptshadow runs on (shares_cpu), or with one CPU in all, it halts at
 * once and leaves the CPU to ptshadow.
 */
unsigned vm_guest_spin_us(bool shares_cpu);
/* this process may run on one CPU only (fuzz jobs, taskset -c N) */
bool vm_on_one_cpu(void);

/* Create the VM on cfg->backend (AUTO resolved), load the guest, set up PVH
 * boot.  Returns EXIT_USAGE for a bad guest image or option (err names it),
 * EXIT_INTERNAL for backend failures, else 0. */
int vm_create(struct vm *vm, const char *guest_path, const struct vm_config *cfg, char *err,
              size_t errlen);
void vm_destroy(struct vm *vm);

/* Run the vCPU until the next event the caller must handle, or until the
 * guest has made no progress for --timeout seconds (VM_EV_TIMEOUT). */
enum vm_event vm_run(struct vm *vm);
/* The guest made progress (it completed an op, registered, was reset): the
 * next vm_run gives it --timeout seconds afresh.  An event alone is not
 * progress: a guest can signal without end and never take the next op. */
void vm_progress(struct vm *vm);
/* Give the guest --timeout seconds from now (vm_run does after progress; a
 * backend that runs the guest on the host's behalf, as a reset does, too). */
void vm_deadline_arm(struct vm *vm);
/* Where the guest runs beside us (QEMU): let it go on from the event it
 * stopped at while we work; the next vm_run waits for its next event. */
bool vm_can_release(const struct vm *vm);
void vm_release(struct vm *vm);
/* All of guest RAM into dst (laid out as vm->mem, the hole left alone;
 * pages of RAM that were never written are not written in dst: a fresh,
 * zeroed dst, or one that held RAM before).  0, or -1 with vm->error. */
int vm_ram_copy(struct vm *vm, uint8_t *dst);
void vm_dump_regs(struct vm *vm, FILE *f);
/* "qemu (tcg), dirty log plugin": what runs the guest, for banners and reports */
const char *vm_describe(const struct vm *vm, char *buf, size_t len);
/* the guest's CR3 at its last stop */
uint64_t vm_cr3(struct vm *vm);
/* Where vm_cr3 is the guest's own word (QEMU: reported through the
 * doorbell), compare it with the vCPU's: 0 when they agree (or the backend
 * reads the vCPU's own); 1 with vm->error when they do not (the guest's
 * doing); -1 with vm->error when the vCPU cannot be asked (the backend's). */
int vm_cr3_verify(struct vm *vm);

/* The dirty log.  vm_dirty_start when the log is first needed (after
 * boot).  vm_dirty_sync harvests and publishes: dirty_last = the pages
 * written since the previous sync, also added to dirty_since.
 * vm_page_dirty tests dirty_last.  A set whose `all` is set lost track:
 * treat every page as written.  Without a log (VM_DIRTY_NONE) every sync
 * says `all`. */
int vm_dirty_alloc(struct vm *vm, uint64_t mem_size, char *err, size_t errlen);
int vm_dirty_start(struct vm *vm);
int vm_dirty_harvest(struct vm *vm, bool ring_full);
/* read the log now (between op batches) so that a ring is less likely to
 * overflow before the next sync */
int vm_dirty_poll(struct vm *vm);
int vm_dirty_sync(struct vm *vm);
void vm_dirty_since_clear(struct vm *vm);
bool vm_page_dirty(void *vm, uint64_t gpa); /* struct gmem page_dirty hook */
void vm_dirty_free(struct vm *vm);

/* snapshot.c: capture after boot, restore by copying back dirty pages */
struct vm_snapshot {
	bool valid;
	uint8_t *mem; /* copy of guest RAM at capture (hole included, unmapped) */
	uint64_t restores, pages_restored; /* pages_restored: last restore */
};
int vm_snapshot_take(struct vm *vm, struct vm_snapshot *snap);
/* host_gpa/host_len: a range the host wrote itself (restored too); also
 * (NULL: none): a copy of guest RAM (laid out as vm->mem) that gets the
 * same pages back */
int vm_snapshot_restore(struct vm *vm, struct vm_snapshot *snap, uint64_t host_gpa,
                        uint64_t host_len, uint8_t *also);
void vm_snapshot_free(struct vm *vm, struct vm_snapshot *snap);

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

#endif /* PTSHADOW_VM_H */
