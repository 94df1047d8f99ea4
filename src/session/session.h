/* src/session/session.h - one booted guest driven op by op through the command
 * ring, with the monitor checking after each op: the one loop that run,
 * replay, minimize, fuzz, dump and bench are each a policy and a sink of.
 */
#ifndef PTSHADOW_SESSION_H
#define PTSHADOW_SESSION_H

#include "monitor_cpus.h"
#include "ops.h"
#include "violation.h"
#include "vm.h"

/* One booted guest (opaque: session_open, session_close). */
struct session;

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
	/* groups without a schedule of their own (docs/smp.md, "Groups"): PCT
	 * from this seed (0: the default rule) with this depth (0: 2) */
	uint64_t sched_seed;
	unsigned sched_depth;
	/* --schedule free (docs/smp.md, "Free-running groups"): groups without a
	 * schedule of their own run free, their CPUs in parallel; implies
	 * parallel_vcpus */
	bool sched_free;
	bool parallel_vcpus; /* QEMU: a host thread per vCPU (MTTCG), for free groups */
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

/* ---- outcomes: what a run came to, as a value ------------------------------ */

enum outcome_kind {
	OUTCOME_CLEAN = 0,   /* every op ran and checked clean (or the sink ended the run) */
	OUTCOME_VIOLATION,   /* the monitor found `violation` */
	OUTCOME_DEATH,       /* the guest died (panic, triple fault, hang, guest error) or exited */
	OUTCOME_MISMATCH,    /* the op's result differs from the script's `=> RESULT` */
	OUTCOME_ERROR,       /* the backend or the host failed: death.error says how; no finding */
	OUTCOME_INTERRUPTED, /* SIGINT/SIGTERM */
};

/* An op in flight when the guest died or hung with several CPUs up
 * (src/session/stuck.c): the CPU that runs it, how far that CPU had got by
 * the guest's own record (struct pts_cpu's op_begun, op_ended), and where
 * it was (its RIP, where the backend could read it). */
enum inflight_state { INFLIGHT_NOT_BEGUN, INFLIGHT_RUNNING, INFLIGHT_ENDED };
struct inflight {
	uint64_t op_index;
	uint32_t cpu;
	enum inflight_state state;
	bool rip_known;
	uint64_t rip;
};

/* How the guest died, copied out of the VM when it did. */
struct death {
	enum vm_event event; /* VM_EV_OP_DONE: it did not; it still serves its ring */
	uint32_t exit_status;
	struct pts_hc_panic panic; /* VM_EV_PANIC: the guest's record (not escaped) */
	char error[2048];          /* what ended it, escaped (a panic's and an exit's too) */
	char regs[2048];           /* the vCPU's registers, as the backend prints them */
	/* a hang or a triple fault in the middle of ops on several CPUs: those
	 * ops and their CPUs (report.json's "inflight"); 0 otherwise */
	unsigned ninflight;
	struct inflight inflight[PTS_GROUP_MAX];
};

struct outcome {
	enum outcome_kind kind;
	unsigned cpu;        /* the vCPU whose op it names (0: one vCPU today) */
	bool boot;           /* at boot, before any op */
	uint64_t op_index;   /* the op's index in its script */
	struct script_op op; /* that op, with the guest's result */
	char op_text[OPS_TEXT_MAX];
	struct violation violation; /* OUTCOME_VIOLATION */
	struct death death;
	char console[4096]; /* the console's last bytes (raw) */
	size_t console_len;
};

/* ---- the loop: one script, a policy, a sink -------------------------------- */

struct run_policy {
	bool lookahead;       /* the guest may start on the next op while this one is checked */
	bool check_expect;    /* a result that differs from `=> RESULT` is a finding */
	bool every_violation; /* each violation of an op is a finding (else its first) */
	bool keep_going;      /* after a violation or a mismatch, go on with the next op */
	bool op_text;         /* the sink's op wants each op's text (a trace) */
};

/* One op as the guest ran it, for a sink. */
struct op_step {
	size_t index;
	unsigned cpu;
	const struct script_op *op; /* with the guest's result */
	const char *text;           /* the op's canonical text (NULL unless the policy asks) */
	enum session_status status;
	uint64_t check_ns; /* the monitor's time on it */
};

struct run_sink {
	void *ctx;
	/* every op the guest ran (NULL: none wanted) */
	void (*op)(void *ctx, const struct op_step *step);
	/* every finding; true ends the run (NULL: the first finding ends it) */
	bool (*finding)(void *ctx, const struct outcome *o);
	/* at the script's end: append the next op to sc and return 0, or -1 to
	 * end the run (NULL: a script is all there is) */
	int (*feed)(void *ctx, struct script *sc);
};

/*
 * Run sc's ops from index `from` (feeding more at its end if the sink
 * does), checking each, until the end, a death, an error, or a finding
 * the policy or the sink stops at.  Results are written back into sc.
 * Returns the finding it stopped at (the first, when it went on), or
 * CLEAN, DEATH, ERROR, INTERRUPTED.
 */
struct outcome session_run(struct session *s, struct script *sc, size_t from,
                           const struct run_policy *p, const struct run_sink *sink);

/* ---- a session's life ------------------------------------------------------ */

/* Boot a guest until it registers (or, without a ring, until it exits).
 * Never NULL but when out of memory; *rc is 0, EXIT_USAGE (bad image or
 * option: session_error), EXIT_FINDING (the guest died booting:
 * session_last) or EXIT_INTERNAL.  Close it whatever *rc is. */
struct session *session_open(const struct session_config *cfg, int *rc);
void session_close(struct session *s);
/* The last failure, one line */
const char *session_error(const struct session *s);
/* What became of the guest at its last event, as an outcome (a death with
 * the registers read now; a boot's, before any op) */
struct outcome session_last(struct session *s);
/* Let the guest finish (quit flag) and collect its exit status. */
enum session_status session_finish(struct session *s);
/* Back to the state right after boot (cfg.snapshot): guest RAM, registers,
 * console tail, a fresh monitor.  0, or -1 (then close it; boot afresh
 * unless session_backend_failed). */
int session_reset(struct session *s);
/* The last run or reset failed on the backend's side (KVM, QEMU, QMP,
 * libvirt), not the guest's: exit 3, no finding. */
bool session_backend_failed(const struct session *s);

/* ---- what callers may read ------------------------------------------------- */

struct session_stats {
	uint64_t ops;        /* ops done since boot or the last reset */
	uint64_t overlapped; /* ops checked while the guest ran the next */
	uint64_t check_ns;   /* the monitor's time, in all */
	struct vm_stats vm;
};
void session_stats(const struct session *s, struct session_stats *st);
/* "qemu (tcg), dirty log plugin": what runs the guest */
const char *session_describe(const struct session *s, char *buf, size_t len);
/* print the monitor's walk of pmap slot (-1: the kernel's); 0, or -1 when
 * the guest has no such pmap */
int session_dump_pmap(const struct session *s, int32_t slot, FILE *out);
/* guest RAM through its checked accessor, and where the guest registered its
 * descriptor: for what reads the guest's own records (coverage) */
const struct gmem *session_guest_ram(const struct session *s, uint64_t *desc_gpa);
/* the monitor's walk of pmap slot as JSON (monitor_pmap_json), bounded; NULL
 * when there is no such pmap, or no monitor */
json_t *session_pmap_json(const struct session *s, int32_t slot, size_t max_tables,
                          size_t max_rows);
/* the CPUs, pm_active and the TLB ledger as the monitor read them at the
 * last op (monitor_cpus.h); -1 when there is no monitor */
int session_cpus(const struct session *s, struct monitor_cpus *out);
int session_ledger_tail(const struct session *s, size_t n, struct pts_tlb_record *out, size_t *got,
                        uint64_t *head);

/* ---- for benchmarks --------------------------------------------------------- */

/* Switch the monitor on (begin = a full walk) or off, capture a snapshot of
 * the current state, stop after each op or not, and post many ops per exit
 * (stop_each off; no checks). */
int session_monitor_start(struct session *s, bool incremental);
void session_monitor_stop(struct session *s);
int session_capture_now(struct session *s);
void session_set_stop_each(struct session *s, bool on);
/* groups without a schedule of their own from now on: PCT from seed (0: the
 * default rule), or free (cfg.sched_seed, cfg.sched_free) */
void session_set_schedule(struct session *s, uint64_t seed, bool free_groups);
enum session_status session_run_batch(struct session *s, struct script_op *ops, size_t n);

#endif /* PTSHADOW_SESSION_H */
