/* src/session/step.c - one op's trip through the command ring: write the
 * record, advance head, run until the guest has completed it, read the
 * result, check it; and, where the guest runs beside us, let it start on the
 * next op while this one is checked (docs/performance.md).
 */
#include <stdarg.h>
#include <string.h>

#include "clock.h"
#include "monitor.h"
#include "session_impl.h"
#include "util.h"

void session_fail(struct session *s, const char *what)
{
	char safe[sizeof(s->err) * 4];

	snprintf(s->err, sizeof(s->err), "%s: %s", what,
	         text_safe(safe, sizeof(safe), vm_error(s->vm)));
}

void session_fail_event(struct session *s, enum vm_event ev)
{
	session_fail(s, ev == VM_EV_KVM_ERROR ? vm_name(s->vm) : "guest");
}

/* The guest broke the ring's protocol, or lied, in a way only the session
 * sees: a guest error as the VM's own are */
static enum session_status session_guest_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum session_status session_guest_error(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	vm_event_set(s->vm, VM_EV_GUEST_ERROR);
	return SESSION_GUEST_DIED;
}

/* The CR3 the monitor is given must be a root the guest has: with any
 * other the monitor would take no pmap as active and check nothing that
 * depends on it (a guest could hide from its TLB checks so) */
bool cr3_known(struct session *s)
{
	uint64_t cr3 = vm_cr3(s->vm);

	if (s->mon == NULL || monitor_root_known(s->mon, cr3))
		return true;
	session_guest_error(s,
	                    "the guest's CR3 %#llx is not the root of any pmap it has (its kernel "
	                    "pmap or one on its pmap list)",
	                    (unsigned long long)cr3);
	return false;
}

enum session_status status_of_event(enum vm_event ev)
{
	switch (ev) {
	case VM_EV_PANIC:
	case VM_EV_SHUTDOWN:
	case VM_EV_HLT:
	case VM_EV_TIMEOUT:
	case VM_EV_GUEST_ERROR:
		return SESSION_GUEST_DIED;
	case VM_EV_EXIT:
		return SESSION_EXITED;
	case VM_EV_INTERRUPTED:
		return SESSION_INTERRUPTED;
	default:
		return SESSION_ERROR;
	}
}

/* A guest that signalled op-done and never completed the op says so */
static void say_signals(struct session *s, uint64_t signals, uint64_t head)
{
	size_t n = strlen(s->err);

	snprintf(s->err + n, sizeof(s->err) - n,
	         "; it signalled op-done %llu times and never completed op %llu "
	         "(ring tail %llu, head %llu)",
	         (unsigned long long)signals, (unsigned long long)s->ops_done,
	         (unsigned long long)s->ring->tail, (unsigned long long)head + 1);
}

/* Run the guest until it has completed the op at head: only that is
 * progress for the watchdog, not its signals (a guest can signal op-done
 * without end, or move its tail back and redo the op). */
static enum session_status await_op(struct session *s, uint64_t head, uint64_t k)
{
	struct pts_ring *r = s->ring;
	uint64_t signals = 0, tail;

	s->ninflight = 0;
	for (;;) {
		enum vm_event ev = vm_run(s->vm);
		if (ev != VM_EV_OP_DONE) {
			session_fail_event(s, ev);
			if (ev == VM_EV_TIMEOUT && signals > 0)
				say_signals(s, signals, head);
			session_say_stuck(s, ev, head, k);
			return status_of_event(ev);
		}
		signals++;
		tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (tail == head + k)
			break;
		if (tail != head)
			return session_guest_error(
			    s, "guest advanced its ring tail to %llu (want %llu)",
			    (unsigned long long)tail, (unsigned long long)(head + k));
	}
	vm_progress(s->vm);
	return SESSION_OK;
}

/* A finding rests on the CR3 the backend gave the monitor: where that is
 * the guest's word, ask the vCPU (unless it confirmed the same CR3 a few
 * calls ago: vm_cr3_verify_finding).  A lie is the guest's; no answer, the
 * backend's (the finding is then not reported: it may rest on a lie). */
static enum session_status finding_cr3_verified(struct session *s)
{
	int rc = vm_cr3_verify_finding(s->vm);

	if (rc > 0) {
		session_fail(s, "guest");
		vm_event_set(s->vm, VM_EV_GUEST_ERROR);
		return SESSION_GUEST_DIED;
	}
	if (rc < 0) {
		session_fail(s, vm_name(s->vm));
		return SESSION_ERROR;
	}
	return SESSION_VIOLATION;
}

/* Write op into the next ring slot and advance head; the ring head it was at. */
static uint64_t post_op(struct session *s, const struct pts_op *op)
{
	struct pts_ring *r = s->ring;
	uint64_t head = r->head;
	struct pts_op *slot = &r->slots[head % PTS_RING_SLOTS];

	*slot = *op;
	slot->seq = s->ops_done;
	slot->result = PTS_RES_PENDING;
	s->posted[head % PTS_RING_SLOTS].seq = slot->seq;
	s->posted[head % PTS_RING_SLOTS].cpu = op->cpu;
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	return head;
}

/* The next op, if the guest was let go on with it: wait until it is done,
 * so that the guest waits at a call again. */
static void drain(struct session *s)
{
	enum session_status st;

	if (s->next_state != NEXT_RUNNING)
		return;
	st = await_op(s, s->next_head, 1);
	s->next_state = st == SESSION_OK ? NEXT_DONE : NEXT_FAILED;
	s->next_status = st;
}

void session_drop_next(struct session *s)
{
	drain(s);
	s->next_state = NEXT_NONE;
	s->next = NULL;
}

void session_set_next(struct session *s, const struct script_op *next)
{
	s->next = next;
}

static bool same_op(const struct pts_op *a, const struct pts_op *b)
{
	return a->kind == b->kind && a->pmap == b->pmap && a->va == b->va && a->end == b->end &&
	       a->page == b->page && a->page2 == b->page2 && a->prot == b->prot &&
	       a->flags == b->flags && a->cpu == b->cpu;
}

/* The op as the caller said it would be: already posted, maybe done. */
static enum session_status take_posted(struct session *s, const struct script_op *sop,
                                       uint64_t *head)
{
	enum session_status st = SESSION_OK;

	if (!same_op(&s->next_op, &sop->op)) {
		snprintf(s->err, sizeof(s->err), "session: op %llu is not the one set as next",
		         (unsigned long long)s->ops_done);
		st = SESSION_ERROR;
	} else if (s->next_state == NEXT_RUNNING) {
		st = await_op(s, s->next_head, 1);
	} else if (s->next_state == NEXT_FAILED) {
		st = s->next_status;
	}
	*head = s->next_head;
	s->next_state = NEXT_NONE;
	return st;
}

/* With overlap: the copy of RAM the monitor reads brought up to the op's
 * end, and the guest let go on with the next op if the caller knows it. */
static int overlap_step(struct session *s, bool full)
{
	if (!s->overlap)
		return 0;
	if ((full ? mirror_copy_all(s) : mirror_copy_written(s)) != 0)
		return -1;
	if (full || s->next == NULL) /* a full check reads it all again: guest held */
		return 0;
	s->next_op = s->next->op;
	s->next_head = post_op(s, &s->next_op);
	s->next_state = NEXT_RUNNING;
	s->overlapped++;
	vm_release(s->vm);
	return 0;
}

/* With incremental checks: the pages the guest wrote, from the dirty log,
 * as the monitor's scope; whether this check reads all of RAM.  0, or -1. */
static int check_scope(struct session *s, bool *full)
{
	const struct pfn_set *written;

	*full = false;
	if (!s->cfg.incremental)
		return 0;
	*full = s->cfg.full_every != 0 && s->ops_done % s->cfg.full_every == 0;
	if (vm_dirty_sync(s->vm) != 0) {
		session_fail(s, "monitor");
		return -1;
	}
	written = vm_dirty_last(s->vm);
	*full = *full || written->all; /* the log lost track: read it all */
	s->gmem.page_dirty = *full ? NULL : vm_page_dirty;
	s->gmem.dirty_pfns = *full ? NULL : written->pfns; /* the same log, listed */
	s->gmem.ndirty_pfns = written->n;
	return 0;
}

/* The monitor after ops[0..k) (one op, or a group run at once). */
static enum session_status check_op(struct session *s, struct script_op *sop, size_t k)
{
	uint64_t t0 = now_ns();
	struct pts_op ops[PTS_GROUP_MAX];
	bool full;
	int n;

	if (check_scope(s, &full) != 0 || overlap_step(s, full) != 0)
		return SESSION_ERROR;
	for (size_t i = 0; i < k; i++)
		ops[i] = sop[i].op;
	monitor_clear_violations(s->mon);
	n = monitor_after_ops(s->mon, ops, k, s->ops_done - 1, session_op_text(s, &sop[k - 1]),
	                      vm_cr3(s->vm));
	s->last_check_ns = now_ns() - t0;
	s->check_ns_total += s->last_check_ns;
	if (n < 0) {
		snprintf(s->err, sizeof(s->err), "monitor: out of memory");
		return SESSION_ERROR;
	}
	if (!cr3_known(s))
		return SESSION_GUEST_DIED;
	if (n == 0)
		return SESSION_OK;
	/* a finding rests on the CR3 the backend gave the monitor; with overlap
	 * the guest is asked at its next call (docs/performance.md) */
	drain(s);
	return s->next_state != NEXT_FAILED ? finding_cr3_verified(s) : SESSION_VIOLATION;
}

/* Post the op (or take it posted already) and wait for the guest to do it. */
static enum session_status run_op(struct session *s, const struct script_op *sop, uint64_t *head)
{
	struct pts_ring *r = s->ring;

	if (s->next_state != NEXT_NONE)
		return take_posted(s, sop, head);
	if (r->tail != r->head)
		return session_guest_error(s, "guest ring out of step (head %llu tail %llu)",
		                           (unsigned long long)r->head,
		                           (unsigned long long)r->tail);
	*head = post_op(s, &sop->op);
	return await_op(s, *head, 1);
}

const char *session_op_text(struct session *s, const struct script_op *sop)
{
	if (!s->op_text_valid)
		script_op_format(sop, s->op_text, sizeof(s->op_text));
	s->op_text_valid = true;
	return s->op_text;
}

enum session_status session_op(struct session *s, struct script_op *sop)
{
	enum session_status st;
	const struct pts_op *slot;
	uint64_t head = 0;

	s->op_text_valid = false;
	st = run_op(s, sop, &head);
	if (st != SESSION_OK) {
		s->next = NULL;
		return st;
	}
	slot = &s->ring->slots[head % PTS_RING_SLOTS];
	sop->op.result = slot->result;
	sop->op.value = slot->value;
	sop->op.cycles = slot->cycles;
	s->ops_done++;
	if (s->mon != NULL)
		st = check_op(s, sop, 1);
	s->next = NULL;
	return st;
}

void session_set_stop_each(struct session *s, bool on)
{
	s->cfg.stop_each = on;
	s->ring->stop_each = on;
}

void session_set_schedule(struct session *s, uint64_t seed, bool free_groups)
{
	s->cfg.sched_seed = seed;
	s->cfg.sched_free = free_groups;
}

/* Post ops[0..k) at once, as a group (PTS_OPF_PAR on each after the first)
 * or not: the ring head before them. */
static uint64_t post_batch(struct session *s, const struct script_op *ops, size_t k, bool group)
{
	struct pts_ring *r = s->ring;
	uint64_t head = r->head;

	for (size_t i = 0; i < k; i++) {
		struct pts_op *slot = &r->slots[(head + i) % PTS_RING_SLOTS];
		*slot = ops[i].op;
		slot->seq = s->ops_done + i;
		slot->result = PTS_RES_PENDING;
		s->posted[(head + i) % PTS_RING_SLOTS].seq = slot->seq;
		s->posted[(head + i) % PTS_RING_SLOTS].cpu = ops[i].op.cpu;
		if (group && i > 0)
			slot->flags |= PTS_OPF_PAR;
	}
	__atomic_store_n(&r->head, head + k, __ATOMIC_RELEASE);
	return head;
}

/* Run the guest until it has done the k ops posted at head. */
static enum session_status await_batch(struct session *s, uint64_t head, size_t k)
{
	uint64_t want = head + k;

	for (uint64_t seen = head; seen != want;) {
		enum vm_event ev = vm_run(s->vm);
		uint64_t tail;
		if (ev != VM_EV_OP_DONE) {
			session_fail_event(s, ev);
			return status_of_event(ev);
		}
		if (vm_dirty_poll(s->vm) != 0) {
			session_fail(s, "dirty log");
			return SESSION_ERROR;
		}
		tail = __atomic_load_n(&s->ring->tail, __ATOMIC_ACQUIRE);
		if (tail - head > k || tail - head < seen - head)
			return session_guest_error(s,
			                           "guest moved its ring tail to %llu "
			                           "(between %llu and %llu, not back)",
			                           (unsigned long long)tail,
			                           (unsigned long long)seen,
			                           (unsigned long long)want);
		if (tail != seen)
			vm_progress(s->vm); /* ops completed */
		seen = tail;
	}
	return SESSION_OK;
}

/*
 * Post ops without a stop after each (stop_each off): up to a ring's worth at
 * a time, the guest signals only when the ring is empty.  No monitor checks.
 */
enum session_status session_run_batch(struct session *s, struct script_op *ops, size_t n)
{
	struct pts_ring *r = s->ring;

	session_drop_next(s);
	for (size_t done = 0; done < n;) {
		size_t k = n - done < PTS_RING_SLOTS ? n - done : PTS_RING_SLOTS;
		enum session_status st;
		uint64_t head;
		if (r->tail != r->head)
			return session_guest_error(s, "guest ring out of step");
		head = post_batch(s, ops + done, k, false);
		st = await_batch(s, head, k);
		if (st != SESSION_OK)
			return st;
		for (size_t i = 0; i < k; i++) {
			const struct pts_op *slot = &r->slots[(head + i) % PTS_RING_SLOTS];
			ops[done + i].op.result = slot->result;
			ops[done + i].op.value = slot->value;
			ops[done + i].op.cycles = slot->cycles;
		}
		done += k;
		s->ops_done += k;
	}
	return SESSION_OK;
}

/* ---- a group of ops run at once (docs/smp.md, "Groups") */

/* The group's schedule into the ring: the steps its script names, else PCT
 * drawn from the session's seed (cfg.sched_seed, 0: the default rule). */
static void sched_post(struct session *s, const struct script_op *first)
{
	struct pts_sched *sc = &s->ring->sched;
	struct pts_sched want = {0};

	if (first->free_run || (!first->has_schedule && s->cfg.sched_free)) {
		sched_free(&want, s->cfg.sched_seed, s->groups);
	} else if (first->has_schedule) {
		want.mode = PTS_SCHED_LIST;
		want.nsteps = first->nsteps;
		memcpy(want.steps, first->steps, first->nsteps);
	} else if (s->cfg.sched_seed != 0) {
		sched_pct(&want, s->cfg.sched_seed, s->groups, s->cfg.sched_depth);
	}
	s->groups++;
	memcpy(sc, &want, sizeof want);
}

/* The steps the guest took, into the group's first op unless the script
 * gave them (replay and minimize keep theirs): a schedule that replays it.
 * Guest-written: each step must name a CPU of the group. */
static enum session_status sched_take(struct session *s, struct script_op *ops, size_t k)
{
	struct pts_sched got;
	uint32_t cpus = 0, n;

	if (ops[0].free_run || (!ops[0].has_schedule && s->cfg.sched_free)) {
		/* no steps: it replays free, by chance */
		ops[0].has_schedule = ops[0].free_run = true;
		ops[0].nsteps = 0;
		return SESSION_OK;
	}
	memcpy(&got, &s->ring->sched, sizeof got);
	for (size_t i = 0; i < k; i++)
		cpus |= 1u << ops[i].op.cpu;
	n = got.ntrace < PTS_SCHED_STEPS ? got.ntrace : PTS_SCHED_STEPS;
	for (uint32_t i = 0; i < n; i++)
		if (got.trace[i] >= PTS_MAX_CPUS || !(cpus & (1u << got.trace[i])))
			return session_guest_error(s,
			                           "the guest's schedule trace names cpu%u at step "
			                           "%u, which runs no op of the group",
			                           (unsigned)got.trace[i], (unsigned)i);
	if (ops[0].has_schedule)
		return SESSION_OK;
	ops[0].has_schedule = true;
	ops[0].nsteps = (uint8_t)n;
	memcpy(ops[0].steps, got.trace, n);
	return SESSION_OK;
}

enum session_status session_group(struct session *s, struct script_op *ops, size_t k)
{
	struct pts_ring *r = s->ring;
	enum session_status st;
	uint64_t head;

	s->op_text_valid = false;
	session_drop_next(s);
	if (r->tail != r->head)
		return session_guest_error(s, "guest ring out of step (head %llu tail %llu)",
		                           (unsigned long long)r->head,
		                           (unsigned long long)r->tail);
	sched_post(s, &ops[0]);
	head = post_batch(s, ops, k, true);
	st = await_op(s, head, k);
	if (st == SESSION_GUEST_DIED) /* the steps up to its death replay it */
		(void)sched_take(s, ops, k);
	if (st != SESSION_OK)
		return st;
	for (size_t i = 0; i < k; i++) {
		const struct pts_op *slot = &r->slots[(head + i) % PTS_RING_SLOTS];
		ops[i].op.result = slot->result;
		ops[i].op.value = slot->value;
		ops[i].op.cycles = slot->cycles;
	}
	st = sched_take(s, ops, k);
	s->ops_done += k;
	if (st == SESSION_OK && s->mon != NULL)
		st = check_op(s, ops, k);
	return st;
}
