/* src/session/impl/session_impl.h - the session's inside, for src/session/
 * only (and the tests): struct session, the one-op step session_run is
 * built of, and the copy of guest RAM the monitor reads behind the guest.
 */
#ifndef PTSHADOW_SESSION_IMPL_H
#define PTSHADOW_SESSION_IMPL_H

#include "gmem.h"
#include "session.h"

struct monitor;

/* The op after the current one, once it is in the ring (session_set_next). */
enum session_next {
	NEXT_NONE,    /* not posted */
	NEXT_RUNNING, /* posted, and the guest was let go on with it */
	NEXT_DONE,    /* ... and it is done: the guest waits at its op-done */
	NEXT_FAILED,  /* ... and the guest died or erred on it (next_status) */
};

struct session {
	struct session_config cfg;
	struct vm *vm;
	struct pts_ring *ring; /* host view, checked once at registration */
	struct monitor *mon;
	struct gmem gmem; /* the monitor's checked view of guest RAM (or of mirror) */
	/* Checking behind the guest (docs/performance.md): where the guest runs
	 * beside us, it starts on the next op while the monitor checks this one
	 * on mirror, a copy of guest RAM as it was when this one ended. */
	bool overlap;
	uint8_t *mirror;                 /* laid out as guest RAM; NULL without overlap */
	const struct script_op *next;    /* what the caller said comes next */
	enum session_next next_state;    /* whether it is in the ring, and how far */
	struct pts_op next_op;           /* the record posted */
	uint64_t next_head;              /* the ring head it was posted at */
	enum session_status next_status; /* NEXT_FAILED: what became of it */
	uint64_t overlapped;             /* ops checked while the guest ran the next */
	uint64_t ops_done;
	uint64_t check_ns_total;    /* monitor time, for stats */
	uint64_t last_check_ns;     /* monitor time of the last op */
	char op_text[OPS_TEXT_MAX]; /* the last op's text, once asked for (op_text_valid) */
	bool op_text_valid;
	int mon_rc; /* exit status when the monitor could not start */
	struct vm_snapshot snap;
	uint64_t resets;
	uint64_t groups; /* groups run: each draws its PCT schedule afresh */
	/* what the host posted at each ring slot (the guest's copy is not
	 * trusted), and the ops in flight at the guest's death (stuck.c) */
	struct {
		uint64_t seq;
		uint32_t cpu;
	} posted[PTS_RING_SLOTS];
	unsigned ninflight;
	struct inflight inflight[PTS_GROUP_MAX];
	char err[768];
};

/* Boot into caller storage: session_open's inside (0 or an exit status). */
int session_boot(struct session *s, const struct session_config *cfg);
void session_destroy(struct session *s);
/* Post one op, run the guest until it has executed it, check it.  On
 * SESSION_OK/VIOLATION, sop->op holds the guest's result.  session_run is
 * its one caller in src/. */
enum session_status session_op(struct session *s, struct script_op *sop);
/* The op the next session_op will be given, if the caller knows it (NULL:
 * not known).  With it the guest may start on it while the current op is
 * checked; session_op then wants exactly that op (the same record). */
void session_set_next(struct session *s, const struct script_op *next);
/* The last op's canonical text, formatted once however often it is asked for
 * (the monitor, a trace, an outcome) */
const char *session_op_text(struct session *s, const struct script_op *sop);
/* The violations the monitor reported for the last op (0 without a monitor). */
size_t session_nviolations(const struct session *s);
const struct violation *session_violation(const struct session *s, size_t i);

/* Run ops[0..k) at once on their CPUs (a group, 2 <= k <= PTS_GROUP_MAX,
 * distinct CPUs) under the schedule of ops[0] (or PCT, or the default
 * rule), and check the state at its end.  The steps the guest took go into
 * ops[0]'s schedule, so that the script replays the group. */
enum session_status session_group(struct session *s, struct script_op *ops, size_t k);
/* sched.c: PCT's parameters for group number `group` of a run seeded `seed` */
void sched_pct(struct pts_sched *sc, uint64_t seed, uint64_t group, unsigned depth);
void sched_free(struct pts_sched *sc, uint64_t seed, uint64_t group);

/* step.c: one op through the ring */
/* s->err = "what: " + the VM's error, escaped (it may quote the guest) */
void session_fail(struct session *s, const char *what);
/* an event ended the run: the message names the side at fault */
void session_fail_event(struct session *s, enum vm_event ev);
enum session_status status_of_event(enum vm_event ev);
/* the CR3 the monitor is given is the root of a pmap the guest has (else
 * a guest error) */
bool cr3_known(struct session *s);
/* a next op the guest was let go on with: waited for and dropped */
void session_drop_next(struct session *s);

/* stuck.c: the guest died (ev) or hung with the records [head, head + k) in
 * flight: where each of their CPUs was, into s->inflight and s->err */
void session_say_stuck(struct session *s, enum vm_event ev, uint64_t head, uint64_t k);

/* mirror.c: the copy of guest RAM the monitor reads with overlap */
int mirror_open(struct session *s); /* allocate and fill */
void mirror_close(struct session *s);
int mirror_copy_all(struct session *s);
int mirror_copy_written(struct session *s); /* the pages vm_dirty_last names */

#endif /* PTSHADOW_SESSION_IMPL_H */
