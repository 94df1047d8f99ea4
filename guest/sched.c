/* guest/sched.c - running a group of ops at once under the host's schedule
 * (guest/sched.h): the token, the steps, the trace the host reads back; or,
 * with PTS_SCHED_FREE, no token at all: the CPUs start together and race,
 * pausing at random at the preemption points to vary the interleaving.
 */
#include "cpu.h"
#include "ops.h"
#include "sched.h"
#include "smp.h"

static struct {
	volatile uint32_t active;  /* a group runs */
	volatile uint32_t members; /* its CPUs */
	volatile uint32_t done;    /* those whose op is over */
	volatile uint32_t token;   /* the CPU that may run */
	uint32_t steps;            /* steps taken */
	uint8_t prio[MAXCPU];      /* PCT priorities, as they are now */
	uint32_t free;             /* PTS_SCHED_FREE: no token, CPUs in parallel */
	volatile uint32_t arrived; /* free: members at the start line */
	uint32_t jitter_max;       /* free: most pause loops at a point */
	uint64_t rng[MAXCPU];      /* free: each CPU's stream for its pauses */
} grp;

static bool member(uint32_t cpu)
{
	return __atomic_load_n(&grp.active, __ATOMIC_ACQUIRE) && (grp.members & (1u << cpu));
}

/* CPU c waits for something that has not happened (a lock to be freed) */
static bool blocked(uint32_t c)
{
	const struct pcpu *pc = &pcpu[c];

	if (__atomic_load_n(&pc->pc_wait_kind, __ATOMIC_ACQUIRE) != WAIT_EQ32)
		return false;
	return *(const volatile uint32_t *)pc->pc_wait_addr != (uint32_t)pc->pc_wait_value;
}

static uint32_t can_go(void)
{
	uint32_t set = 0;

	for (uint32_t c = 0; c < MAXCPU; c++)
		if ((grp.members & ~grp.done & (1u << c)) && !blocked(c))
			set |= 1u << c;
	return set;
}

/* past the schedule: the CPU at the point goes on if it can, else the lowest */
static uint32_t fallback(uint32_t set, uint32_t cur)
{
	if (cur < MAXCPU && (set & (1u << cur)))
		return cur;
	return (uint32_t)__builtin_ctz(set);
}

static uint32_t pct_pick(uint32_t set, uint32_t cur, uint32_t step)
{
	struct pts_sched *sc = &ops_ring.sched;
	uint32_t best = MAXCPU;

	for (uint32_t i = 0; i < sc->nchange && i + 1 < PTS_SCHED_DEPTH; i++)
		if (sc->change[i] == step && cur < MAXCPU)
			grp.prio[cur] = (uint8_t)i; /* below every starting priority */
	for (uint32_t c = 0; c < MAXCPU; c++)
		if ((set & (1u << c)) && (best == MAXCPU || grp.prio[c] > grp.prio[best]))
			best = c;
	return best;
}

static uint32_t pick(uint32_t set, uint32_t cur, uint32_t step)
{
	struct pts_sched *sc = &ops_ring.sched;

	if (step >= PTS_SCHED_STEPS)
		return fallback(set, cur);
	if (sc->mode == PTS_SCHED_PCT)
		return pct_pick(set, cur, step);
	if (sc->mode == PTS_SCHED_LIST && step < sc->nsteps && sc->steps[step] < MAXCPU &&
	    (set & (1u << sc->steps[step])))
		return sc->steps[step];
	if (sc->mode == PTS_SCHED_LIST && step < sc->nsteps)
		return (uint32_t)__builtin_ctz(set);
	return fallback(set, cur);
}

/* the token holder cur (MAXCPU: none yet) is at point p: who goes on.  A
 * step, recorded, only where two or more can. */
static void decide(uint32_t cur, enum preempt_point p)
{
	uint32_t set = can_go(), next;

	if (set == 0)
		return; /* everyone waits for a lock: cannot be, but keep the token */
	if ((set & (set - 1)) == 0) {
		next = (uint32_t)__builtin_ctz(set);
	} else {
		uint32_t step = grp.steps++;
		next = pick(set, cur, step);
		if (step < PTS_SCHED_STEPS) {
			ops_ring.sched.trace[step] = (uint8_t)next;
			ops_ring.sched.point[step] = (uint8_t)p;
		}
		ops_ring.sched.ntrace = grp.steps; /* a panic later still leaves the steps */
	}
	__atomic_store_n(&grp.token, next, __ATOMIC_RELEASE);
}

/* wait for the token, serving shootdowns */
static void wait_token(uint32_t me)
{
	while (__atomic_load_n(&grp.token, __ATOMIC_ACQUIRE) != me) {
		smp_poll();
		cpu_pause();
	}
}

/* free: one time in four, a pause of a random length at a point, serving
 * shootdowns (as wait_token does) except on a target's own side of one */
static void free_pause(uint32_t me, enum preempt_point p)
{
	uint64_t x = grp.rng[me];
	uint32_t n;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	grp.rng[me] = x;
	x *= 0x2545f4914f6cdd1dull;
	if (grp.jitter_max == 0 || (x & 3) != 0)
		return;
	for (n = (uint32_t)((x >> 2) % grp.jitter_max); n > 0; n--) {
		if (p != PP_SD_RECV && p != PP_SD_MID)
			smp_poll();
		cpu_pause();
	}
}

bool sched_point(enum preempt_point p)
{
	uint32_t me = cpu_number();

	if (!member(me))
		return __atomic_load_n(&grp.active, __ATOMIC_ACQUIRE) != 0;
	if (grp.free) {
		free_pause(me, p);
		return true;
	}
	if (p == PP_SD_RECV || p == PP_SD_MID)
		return true; /* a target's side of a shootdown: no token needed */
	KASSERT(grp.token == me);
	decide(me, p);
	wait_token(me);
	return true;
}

/* spin_lock's wait (guest/lock.h): the token goes to a CPU that can run */
void sched_spin(void)
{
	uint32_t me = cpu_number();

	if (!member(me) || grp.free)
		return;
	if (__atomic_load_n(&grp.token, __ATOMIC_ACQUIRE) == me && blocked(me))
		decide(me, PP_SPIN);
	wait_token(me);
}

void sched_lock_point(void)
{
	(void)sched_point(PP_LOCK);
}

/* free: every member waits at the start line for the others, so that
 * their ops overlap however late the mailbox reached them */
static void free_start(void)
{
	uint32_t all = (uint32_t)__builtin_popcount(grp.members);

	__atomic_fetch_add(&grp.arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&grp.arrived, __ATOMIC_ACQUIRE) != all) {
		smp_poll();
		cpu_pause();
	}
}

static void run_op(struct pts_op *op)
{
	uint32_t me = cpu_number();

	if (grp.free)
		free_start();
	else
		wait_token(me);
	ops_execute(op);
	__atomic_fetch_or(&grp.done, 1u << me, __ATOMIC_ACQ_REL);
	if (!grp.free && grp.done != grp.members)
		decide(me, PP_OP_DONE);
}

void sched_run_member(struct pts_op *op)
{
	run_op(op);
}

static void begin(const struct pts_op *ops, uint32_t n)
{
	struct pts_sched *sc = &ops_ring.sched;

	grp.members = 0;
	for (uint32_t i = 0; i < n; i++)
		grp.members |= 1u << ops[i].cpu;
	grp.done = 0;
	grp.steps = 0;
	grp.free = sc->mode == PTS_SCHED_FREE;
	grp.arrived = 0;
	grp.jitter_max = sc->jitter_max;
	for (uint32_t c = 0; c < MAXCPU; c++) {
		grp.prio[c] = sc->mode == PTS_SCHED_PCT ? sc->prio[c] : 0;
		grp.rng[c] = ((sc->jitter_seed + c + 1) * 0x9e3779b97f4a7c15ull) | 1u;
	}
	__atomic_store_n(&grp.active, 1, __ATOMIC_RELEASE);
	if (!grp.free)
		decide(MAXCPU, PP_OP_START);
}

void sched_run_group(struct pts_op *ops, uint32_t n)
{
	struct pts_op *mine = NULL;

	begin(ops, n);
	for (uint32_t i = 0; i < n; i++) {
		if (ops[i].cpu == 0)
			mine = &ops[i];
		else
			smp_post(ops[i].cpu, SMP_CMD_GROUP_OP, (uint64_t)&ops[i]);
	}
	if (mine != NULL)
		run_op(mine);
	for (uint32_t i = 0; i < n; i++)
		if (ops[i].cpu != 0)
			(void)smp_collect(ops[i].cpu);
	ops_ring.sched.ntrace = grp.steps;
	__atomic_store_n(&grp.active, 0, __ATOMIC_RELEASE);
}
