/* src/qemu/qemu_vm.h - the QEMU backend's own state: the QEMU process
 * ptshadow started, guest RAM shared through a memfd, the console and
 * doorbell sockets, and the doorbell protocol's state.
 */
#ifndef PTSHADOW_QEMU_VM_H
#define PTSHADOW_QEMU_VM_H

#include <sys/types.h>

#include "vm_impl.h"

/* pc machine: RAM above this much goes above 4 GiB (-machine max-ram-below-4g) */
#define QEMU_LOWMEM_MAX   (3ull << 30)
#define QEMU_HIGHMEM_BASE (4ull << 30)

struct tcg_dirty;

/*
 * Who started QEMU.  NULL: ptshadow did (qemu_launch.c, its child); else a
 * manager that owns the process (src/libvirt/), which reads the registers
 * and says how QEMU ended in its own way.  Everything else (RAM, doorbell,
 * console, resets) is the same.
 */
struct qemu_host {
	const char *name;
	/* an HMP command's text ("info registers"; malloc'd), or NULL with err */
	char *(*hmp)(struct vm *vm, const char *command, char *err, size_t errlen);
	/* the doorbell or console closed: how QEMU ended, as an event */
	enum vm_event (*gone)(struct vm *vm);
};

#define QEMU_VCPUS_MAX  8u    /* = PTS_MAX_CPUS, VM_CPUS_MAX */
#define QEMU_WALK_CACHE 1024u /* walked tables remembered (power of two) */
struct walk_page {
	uint64_t pfn; /* + 1; 0: empty slot */
	bool valid;   /* copy is the table as it was at the last harvest */
	bool in_log;  /* in this harvest's log already (gen is this harvest) */
	uint64_t gen; /* the harvest that last looked at it */
	uint8_t copy[4096];
};

struct qemu_vm {
	const struct qemu_host *host; /* NULL: QEMU is our child */
	void *host_priv;              /* the manager's own state */
	bool running;                 /* QEMU runs (our child until reaped, or the manager's) */
	pid_t pid;                    /* QEMU, until reaped */
	int ram_fd;                   /* the memfd QEMU maps as guest RAM */
	int cons_fd, db_fd;           /* our ends of COM1 and COM2 */
	int err_fd;                   /* QEMU's stderr */
	char qemu_err[1024];
	size_t qemu_err_len;
	uint64_t ram_bytes; /* RAM QEMU has (the memfd's size) */
	uint64_t lowmem;    /* RAM below the PCI hole */

	/* doorbell */
	uint64_t db_gpa; /* struct pts_doorbell, once the guest said hello */
	uint8_t hello[8];
	unsigned hello_want; /* address bytes of the hello still to come */
	bool waiting;        /* the guest spins until we ack waiting_seq */
	uint64_t waiting_seq;
	uint32_t waiting_nr;
	unsigned spin_us; /* the guest spins this long in a call, then halts (UINT_MAX: never) */
	uint64_t cr3;     /* the guest's CR3 at its last call */
	bool parked;      /* a reset parked the guest, on the park parked_seq */
	uint64_t parked_seq;
	uint64_t park_tokens; /* parks so far: each park's token is new */
	bool snap_ready;      /* a snapshot was taken at the registration */

	/* QMP, QEMU's control monitor (qmp.c).  Every command carries an id
	 * and a reply counts only with the id of the command waiting for it:
	 * a reply that comes after its command gave up is dropped, never
	 * taken for the next command's. */
	int qmp_fd;
	char *qmp_buf;
	size_t qmp_len;
	bool qmp_ready;          /* capabilities negotiated */
	bool qmp_greeted;        /* the greeting came */
	uint64_t qmp_id;         /* the last command's id */
	uint64_t qmp_caps_id;    /* the first qmp_capabilities' id (0: none sent) */
	unsigned qmp_wait_ms;    /* how long a reply may take */
	uint64_t qmp_last_ns;    /* how long the last exchange took */
	char qmp_shutdown[32];   /* a SHUTDOWN event's reason ("" none came) */
	bool qmp_shutdown_guest; /* ... and whether the guest caused it */

	struct tcg_dirty *dirty; /* the ptsdirty plugin's log (NULL: none) */
	unsigned vcpus;          /* QEMU's -smp (0: 1) */
	/* each vCPU's CR3 (vCPU 0: cr3), at the last harvest and the one before */
	uint64_t vcpu_cr3[QEMU_VCPUS_MAX], vcpu_prev_cr3[QEMU_VCPUS_MAX];
	struct walk_page *walk_cache; /* QEMU_WALK_CACHE slots */
	uint64_t walk_gen;            /* harvests so far */
	bool plugin_refused;
};

static inline struct qemu_vm *QEMU(const struct vm *vm)
{
	return (struct qemu_vm *)vm->be;
}

/* qemu_launch.c: find the binary, start QEMU on the prepared fds */
int qemu_find_binary(const char *want, char *path, size_t len, char *err, size_t errlen);
int qemu_launch(struct vm *vm, const char *qemu, const char *guest_path,
                const struct vm_config *cfg, const char *plugin, char *err, size_t errlen);
/* reap QEMU (killing it after a grace period); its wait status */
int qemu_reap(struct qemu_vm *q, bool kill_now);

/* qemu.c */
/* guest RAM: [0, bytes) of fd mapped as guest-physical space, the first
 * lowmem bytes at 0 and the rest at 4 GiB (pc machine), hole unmapped */
int qemu_ram_map(struct vm *vm, int fd, uint64_t bytes, uint64_t lowmem, char *err, size_t errlen);
int qemu_state_init(struct vm *vm, char *err, size_t errlen); /* vm->be, fds closed */
void qemu_state_free(struct vm *vm); /* fds, RAM mapping, vm->be; not the process */
uint64_t qemu_host_tsc_khz(void);
enum vm_event qemu_run(struct vm *vm);
uint64_t qemu_cr3(struct vm *vm);
int qemu_cr3_actual(struct vm *vm, uint64_t *cr3);
void qemu_dump_regs(struct vm *vm, FILE *f);
/* QEMU has gone (the doorbell closed): who ended it, as an event */
enum vm_event qemu_gone(struct vm *vm);
/* QEMU answers a register read: 0 and how long it took, or -1 (vm->error) */
int qemu_answers(struct vm *vm, uint64_t *took_ns);
/* a register read took this long: QEMU stood still, the guest did not */
#define QEMU_STALL_NS 250000000ull
/* answer the call the guest waits in: PTS_DB_CONTINUE, or PTS_DB_PARK */
void qemu_release(struct vm *vm, uint32_t command);
void qemu_continue(struct vm *vm);                 /* vm_release: PTS_DB_CONTINUE */
struct pts_doorbell *qemu_doorbell(struct vm *vm); /* NULL before the hello */
/* the virtual-page log on or off (off while the guest waits for us) */
void qemu_vpages_log(struct vm *vm, bool on);

/* qemu_dirty.c */
int qemu_dirty_start(struct vm *vm);
int qemu_dirty_harvest(struct vm *vm, bool ring_full);
/* the CR3 of QEMU's vCPUs 1..n (their guest CPUs matched by LAPIC ID) from the
 * guest's struct pts_smp, read through kernel_root: 0, or -1 (unreadable) */
int qemu_vcpu_cr3s(struct vm *vm, uint64_t kernel_root, uint64_t *cr3, unsigned n);
void qemu_walk_cache_forget(struct qemu_vm *q); /* RAM went back: copies are stale */

/* qemu_snapshot.c */
int qemu_snap_stop(struct vm *vm, bool restore);
int qemu_snap_save(struct vm *vm);
int qemu_snap_load(struct vm *vm);
int qemu_ram_copy(struct vm *vm, uint8_t *dst);

/* What every backend that runs the guest in QEMU shares, whoever started
 * QEMU: the run loop, registers, the dirty log and resets (vm_backend). */
#define QEMU_GUEST_OPS                                                                             \
	.run = qemu_run, .cr3 = qemu_cr3, .cr3_actual = qemu_cr3_actual,                           \
	.dump_regs = qemu_dump_regs, .vcpu_rips = qemu_vcpu_rips, .dirty_start = qemu_dirty_start, \
	.dirty_harvest = qemu_dirty_harvest, .snap_stop = qemu_snap_stop,                          \
	.snap_save = qemu_snap_save, .snap_load = qemu_snap_load, .ram_copy = qemu_ram_copy,       \
	.release = qemu_continue

/* an HMP command: QMP on our own QEMU, else the manager's way (qemu_cpus.c) */
char *qemu_hmp(struct vm *vm, const char *command, char *err, size_t errlen);
/* each vCPU's RIP, from "info registers -a" (vm_backend's vcpu_rips) */
void qemu_vcpu_rips(struct vm *vm, uint64_t *rip, bool *known, unsigned n);

/* qmp.c */
/* how long a QMP reply may take, for a watchdog of timeout_s seconds (0: none) */
unsigned qmp_wait_for(unsigned timeout_s);
/* the greeting and capabilities negotiation (QEMU runs with -S until "cont") */
int qmp_connect(struct qemu_vm *q, char *err, size_t errlen);
/* a command without arguments ("cont", "query-status"): 0, or -1 with err */
int qmp_simple(struct qemu_vm *q, const char *command, char *err, size_t errlen);
/* an HMP command ("info registers -a") through QMP: its text, or NULL with err */
char *qmp_hmp(struct qemu_vm *q, const char *command, char *err, size_t errlen);
int qmp_reg(const char *regs, const char *name, uint64_t *v);
/* the guest shut the machine down and QEMU keeps it paused (qemu.c) */
enum vm_event qemu_machine_stopped(struct vm *vm);
/* QEMU has gone: read what it said last (a SHUTDOWN event) */
void qmp_drain(struct qemu_vm *q);
/* forget the connection's state (QEMU is relaunched on new sockets) */
void qmp_reset(struct qemu_vm *q);

#endif /* PTSHADOW_QEMU_VM_H */
