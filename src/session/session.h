/* src/session/session.h - one booted guest driven op by op through the command ring,
 * with the monitor checking after each op.  run, fuzz, replay, minimize and
 * bench are all built on it.
 */
#ifndef PTSHADOW_SESSION_H
#define PTSHADOW_SESSION_H

#include "gmem.h"
#include "ops.h"
#include "vm.h"

struct monitor;
struct violation;

struct session_config {
	const char *guest;
	enum vm_backend_kind
	    backend;             /* --backend (AUTO: backend_pick.h, else KVM if /dev/kvm opens) */
	const char *backend_why; /* why auto picked it, for the "backend:" line (or NULL) */
	const char *qemu_path;   /* --qemu */
	bool qemu_kvm;           /* --qemu-accel kvm */
	const char *libvirt_uri; /* --connect */
	const char *libvirt_xml; /* --domain-xml */
	unsigned mem_mib;
	unsigned cpus; /* --cpus (0: 1); an op runs on the CPU its record names */
	unsigned timeout_s;
	uint64_t arena_pages;
	unsigned pv_per_page;      /* guest pv pool items per page (0 = as many as fit) */
	const char *extra_cmdline; /* user's --cmdline, appended */
	FILE *console;             /* NULL: keep the console only for reports */
	FILE *announce;            /* "backend: ..." once the VM exists (NULL: quiet) */
	const char *console_prefix;
	bool ring;              /* drive ops through the ring (else: built-in smoke) */
	bool stop_each;         /* exit to the host after every op (the monitor needs it) */
	bool monitor;           /* check invariants after every op */
	const char *check_spec; /* --check: invariants switched off */
	bool snapshot;          /* capture the VM after boot so session_reset can go back */
	bool incremental;       /* monitor re-reads only pages the backend's dirty log names */
	unsigned full_every;    /* with incremental: a full check every N ops (0 = never) */
	enum vm_dirty_mode dirty_mode; /* --dirty-log: how the backend reports written pages */
	uint32_t dirty_ring_bytes;     /* ring size (0: the default); tests make it small */
};

/* What became of one op. */
enum session_status {
	SESSION_OK = 0,      /* executed, checked, nothing found */
	SESSION_VIOLATION,   /* the monitor found at least one violation */
	SESSION_GUEST_DIED,  /* panic, triple fault, hang, guest error */
	SESSION_EXITED,      /* the guest exited (end of run) */
	SESSION_ERROR,       /* backend (KVM, QEMU) or host failure */
	SESSION_INTERRUPTED, /* SIGINT/SIGTERM arrived while the guest ran */
};

/* the VM part of cfg (console, command line and dirty ring aside) */
void session_vm_config(const struct session_config *cfg, struct vm_config *vc);

/* The op after the current one, once it is in the ring (session_set_next). */
enum session_next {
	NEXT_NONE,    /* not posted */
	NEXT_RUNNING, /* posted, and the guest was let go on with it */
	NEXT_DONE,    /* ... and it is done: the guest waits at its op-done */
	NEXT_FAILED,  /* ... and the guest died or erred on it (next_status) */
};

struct session {
	struct session_config cfg;
	struct vm vm;
	struct pts_ring *ring; /* host view, checked once at registration */
	struct monitor *mon;
	struct gmem gmem; /* the monitor's checked view of guest RAM (or of mirror) */
	/* Checking behind the guest (docs/performance.md): where the guest runs
	 * beside us, it starts on the next op while the monitor checks this one
	 * on mirror, a copy of guest RAM as it was when this one ended. */
	bool overlap;
	uint8_t *mirror;                 /* laid out as vm.mem; NULL without overlap */
	const struct script_op *next;    /* what the caller said comes next */
	enum session_next next_state;    /* whether it is in the ring, and how far */
	struct pts_op next_op;           /* the record posted */
	uint64_t next_head;              /* the ring head it was posted at */
	enum session_status next_status; /* NEXT_FAILED: what became of it */
	uint64_t overlapped;             /* ops checked while the guest ran the next */
	uint64_t ops_done;
	uint64_t check_ns_total; /* monitor time, for stats */
	uint64_t last_check_ns;  /* monitor time of the last op */
	int mon_rc;              /* exit status when the monitor could not start */
	struct vm_snapshot snap;
	char boot_console[4096]; /* console tail at the snapshot */
	size_t boot_console_len;
	uint64_t resets;
	char err[768];
};

/* Boot the guest until it registers (or, without a ring, until it exits).
 * Returns 0, EXIT_USAGE (bad image or option, message in s->err),
 * EXIT_FINDING (guest died during boot) or EXIT_INTERNAL. */
int session_boot(struct session *s, const struct session_config *cfg);
/* Post one op, run the guest until it has executed it, check it.  On
 * SESSION_OK/VIOLATION, sop->op holds the guest's result. */
enum session_status session_op(struct session *s, struct script_op *sop);
/* The op the next session_op will be given, if the caller knows it (NULL:
 * not known).  With it the guest may start on it while the current op is
 * checked; session_op then wants exactly that op (the same record). */
void session_set_next(struct session *s, const struct script_op *next);
/* Let the guest finish (quit flag) and collect its exit status. */
enum session_status session_finish(struct session *s);
void session_destroy(struct session *s);
/* Back to the state right after boot (cfg.snapshot): guest RAM, registers,
 * console tail, a fresh monitor.  0, or -1 with s->err (then destroy it;
 * boot afresh unless session_backend_failed). */
int session_reset(struct session *s);
/* The last run or reset failed on the backend's side (KVM, QEMU, QMP,
 * libvirt), not the guest's: exit 3, no finding. */
bool session_backend_failed(const struct session *s);

/* Benchmarks: switch the monitor on (begin = a full walk) or off, capture a
 * snapshot of the current state, stop after each op or not, and post many
 * ops per exit (stop_each off; no checks). */
int session_monitor_start(struct session *s, bool incremental);
void session_monitor_stop(struct session *s);
int session_capture_now(struct session *s);
void session_set_stop_each(struct session *s, bool on);
enum session_status session_run_batch(struct session *s, struct script_op *ops, size_t n);
/* The violations the monitor reported for the last op (0 without a monitor). */
size_t session_nviolations(const struct session *s);
const struct violation *session_violation(const struct session *s, size_t i);
/* A description of how the guest died, for messages and reports. */
void session_describe_death(struct session *s, FILE *f);

/* mirror.c: the copy of guest RAM the monitor reads with overlap */
int mirror_open(struct session *s); /* allocate and fill */
void mirror_close(struct session *s);
int mirror_copy_all(struct session *s);
int mirror_copy_written(struct session *s); /* the pages vm.dirty_last names */

#endif /* PTSHADOW_SESSION_H */
