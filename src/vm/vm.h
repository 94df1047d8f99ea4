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

/* ---- the VM ------------------------------------------------------------- */
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

/* the backend's identity (vm_backend.identity), "" when it has none */
void vm_backend_identity(enum vm_backend_kind k, const struct vm_config *cfg, char *buf,
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

/* What a backend can do, from its table: the command line asks these and
 * never names a backend.  For AUTO each says what some backend does. */
bool vm_backend_keeps(enum vm_backend_kind k, enum vm_dirty_mode d); /* AUTO d: yes */
/* the first backend that keeps dirty log d */
enum vm_backend_kind vm_backend_keeping(enum vm_dirty_mode d);
/* a backend's refusal of dirty log d, one line (it keeps d: NULL) */
const char *vm_backend_dirty_refusal(enum vm_backend_kind k, enum vm_dirty_mode d, char *buf,
                                     size_t len);
/* the same for a log it keeps with one vCPU only, given --cpus (NULL: fine) */
const char *vm_backend_dirty_cpus_refusal(enum vm_backend_kind k, enum vm_dirty_mode d,
                                          unsigned cpus, char *buf, size_t len);
/* the backend whose accelerator --qemu-accel picks, and whether k runs QEMU
 * (takes --qemu); k's refusal of --qemu-accel kvm (NULL: none) */
enum vm_backend_kind vm_backend_with_accel(void);
bool vm_backend_runs_qemu(enum vm_backend_kind k);
const char *vm_backend_accel_refusal(enum vm_backend_kind k);
/* the accelerator's name where k has a choice ("tcg", "kvm"), else "" */
const char *vm_backend_accel(enum vm_backend_kind k, bool qemu_kvm);
/* what a banner says after the backend's name: " (tcg)", " (-accel kvm)" or "" */
const char *vm_backend_accel_note(enum vm_backend_kind k, bool qemu_kvm);
/* the backend that starts its guest from a template (--connect, --domain-xml),
 * and whether k does */
enum vm_backend_kind vm_backend_with_template(void);
bool vm_backend_takes_template(enum vm_backend_kind k);
/* --domain-xml PATH (NULL: the built-in one) for k: 0, or -1 with err naming it */
int vm_backend_template_check(enum vm_backend_kind k, const char *path, char *err, size_t errlen);
/* how many vCPUs k runs at most; the first backend that runs n */
unsigned vm_backend_cpus_max(enum vm_backend_kind k);
enum vm_backend_kind vm_backend_running(unsigned n);
/* where k cannot run on this machine and AUTO would pick another, why (else NULL) */
const char *vm_backend_missing(enum vm_backend_kind k);
/* the backends that run the guest themselves (not through a manager), and
 * those that run QEMU, in table order: at most max into out, how many */
size_t vm_backend_engines(enum vm_backend_kind *out, size_t max);
size_t vm_backend_qemu_runners(enum vm_backend_kind *out, size_t max);

/* A set of page frame numbers: a bitmap to test, a list to walk. */
struct pfn_set {
	uint64_t *bits;
	uint64_t *pfns;
	uint64_t n, cap;
	bool all; /* the log lost entries: any page may be in the set */
};

/* One VM (opaque outside src/vm/ and the backends: vm_impl.h). */
struct vm;

struct vm_config {
	enum vm_backend_kind backend;
	const char *qemu_path;   /* QEMU: the binary (NULL: qemu-system-x86_64 on PATH) */
	bool qemu_kvm;           /* QEMU: -accel kvm instead of TCG */
	const char *libvirt_uri; /* libvirt: --connect (NULL: qemu:///system) */
	const char *libvirt_xml; /* libvirt: --domain-xml template (NULL: the built-in one) */
	unsigned mem_mib;
	unsigned cpus; /* vCPUs, 1..VM_CPUS_MAX (0: 1); the guest is told with cpus=N */
	bool parallel; /* QEMU: TCG runs each vCPU on a thread of its own (MTTCG) */
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
 * EXIT_INTERNAL for backend failures, else 0; *out is set either way (NULL
 * only when out of memory) and vm_destroy frees it. */
int vm_create(struct vm **out, const char *guest_path, const struct vm_config *cfg, char *err,
              size_t errlen);
void vm_destroy(struct vm *vm);

/* ---- what the VM tells its caller -------------------------------------- */
/* the event of the last vm_run (or the one the caller recorded: a guest that
 * broke the ring's protocol is a guest error as the VM's own are) */
enum vm_event vm_event(const struct vm *vm);
void vm_event_set(struct vm *vm, enum vm_event ev);
const char *vm_error(const struct vm *vm); /* the guest's or the backend's words, raw */
const struct pts_hc_panic *vm_panic(const struct vm *vm);
uint32_t vm_exit_status(const struct vm *vm);
uint64_t vm_desc_gpa(const struct vm *vm);      /* where the guest registered its descriptor */
const struct gmem *vm_mem(const struct vm *vm); /* guest RAM, through its checked accessor */
const char *vm_name(const struct vm *vm);       /* the backend's name */
/* the console's last bytes (raw) into buf; how many */
size_t vm_console_tail(const struct vm *vm, char *buf, size_t len);

/* What the VM counted, for --stats and bench. */
struct vm_stats {
	uint64_t tsc_khz;
	enum vm_dirty_mode dirty_mode; /* in use, never AUTO */
	bool dirty_logging;
	uint64_t dirty_syncs, dirty_harvest_ns;
	uint64_t ring_entries_read, ring_overflows;
	uint64_t guest_wakes; /* calls the guest halted in and was woken from (QEMU) */
};
void vm_stats(const struct vm *vm, struct vm_stats *st);

/* Run the vCPU until the next event the caller must handle, or until the
 * guest has made no progress for --timeout seconds (VM_EV_TIMEOUT). */
enum vm_event vm_run(struct vm *vm);
/* The guest made progress (it completed an op, registered, was reset): the
 * next vm_run gives it --timeout seconds afresh.  An event alone is not
 * progress: a guest can signal without end and never take the next op. */
void vm_progress(struct vm *vm);
/* Where the guest runs beside us (QEMU): let it go on from the event it
 * stopped at while we work; the next vm_run waits for its next event. */
bool vm_can_release(const struct vm *vm);
void vm_release(struct vm *vm);
/* All of guest RAM into dst (laid out as vm->mem, the hole left alone;
 * pages of RAM that were never written are not written in dst: a fresh,
 * zeroed dst, or one that held RAM before).  0, or -1 with vm->error. */
int vm_ram_copy(struct vm *vm, uint8_t *dst);
void vm_dump_regs(struct vm *vm, FILE *f);
/* each vCPU's RIP now (vCPU v has LAPIC ID v: rip[v], known[v]); every known[v]
 * false where the backend cannot tell.  Bounded in time (a hang calls it). */
void vm_vcpu_rips(struct vm *vm, uint64_t *rip, bool *known, unsigned n);
/* "qemu (tcg), dirty log plugin": what runs the guest, for banners and reports */
const char *vm_describe(const struct vm *vm, char *buf, size_t len);
/* the guest's CR3 at its last stop */
uint64_t vm_cr3(struct vm *vm);
/* Where vm_cr3 is the guest's own word (QEMU: reported through the
 * doorbell), compare it with the vCPU's: 0 when they agree (or the backend
 * reads the vCPU's own); 1 with vm->error when they do not (the guest's
 * doing); -1 with vm->error when the vCPU cannot be asked (the backend's). */
int vm_cr3_verify(struct vm *vm);
/* the same at a finding: a CR3 the vCPU confirmed fewer than this many calls
 * ago is taken as it is */
#define VM_CR3_TRUST_CALLS 64
int vm_cr3_verify_finding(struct vm *vm);

/* The dirty log.  vm_dirty_start when the log is first needed (after
 * boot).  vm_dirty_sync harvests and publishes: dirty_last = the pages
 * written since the previous sync, also added to dirty_since.
 * vm_page_dirty tests dirty_last.  A set whose `all` is set lost track:
 * treat every page as written.  Without a log (VM_DIRTY_NONE) every sync
 * says `all`. */
int vm_dirty_start(struct vm *vm);
/* read the log now (between op batches) so that a ring is less likely to
 * overflow before the next sync */
int vm_dirty_poll(struct vm *vm);
int vm_dirty_sync(struct vm *vm);
bool vm_page_dirty(void *vm, uint64_t gpa); /* struct gmem page_dirty hook */
/* the pages the last vm_dirty_sync published */
const struct pfn_set *vm_dirty_last(const struct vm *vm);

/* snapshot.c: capture after boot, restore by copying back dirty pages */
struct vm_snapshot {
	bool valid;
	uint8_t *mem; /* copy of guest RAM at capture (hole included, unmapped) */
	uint64_t restores, pages_restored; /* pages_restored: last restore */
	char console[4096];                /* the console's tail at capture, put back too */
	size_t console_len;
};
int vm_snapshot_take(struct vm *vm, struct vm_snapshot *snap);
/* host_gpa/host_len: a range the host wrote itself (restored too); also
 * (NULL: none): a copy of guest RAM (laid out as vm->mem) that gets the
 * same pages back */
int vm_snapshot_restore(struct vm *vm, struct vm_snapshot *snap, uint64_t host_gpa,
                        uint64_t host_len, uint8_t *also);
void vm_snapshot_free(struct vm *vm, struct vm_snapshot *snap);

#endif /* PTSHADOW_VM_H */
