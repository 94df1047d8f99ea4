/* guest/preempt.c - the preemption points' scheduler (guest/preempt.h): a
 * CPU held at a point waits while any other CPU runs.
 */
#include "cpu.h"
#include "preempt.h"
#include "sched.h"
#include "smp.h"

static uint64_t pct_seed;               /* 0: off */
static volatile uint64_t preempt_epoch; /* ops begun (CPU 0) */

void preempt_init(void)
{
	pct_seed = cmdline_u64("pct", 0);
	for (uint32_t c = 0; c < MAXCPU; c++)
		pcpu[c].pc_pct_rng = pct_seed * 0x9e3779b97f4a7c15ull + c + 1;
}

void preempt_op_begin(void)
{
	__atomic_fetch_add(&preempt_epoch, 1, __ATOMIC_RELEASE);
}

/* Another CPU reads this wait with no lock (blocked() here and in
 * guest/sched.c): the kind, then the word at pc_wait_addr.  A wait's end
 * (WAIT_NONE) leaves the address as it is, so whatever kind a reader saw,
 * the address it reads next is a word's, never NULL: on KVM's parallel
 * vCPUs a CPU held at a point read the sender's cleared wait through NULL
 * between its two stores (ack-before-invalidate, `fuzz --cpus 2 --cmdline
 * pct=1 --backend kvm`: a page fault at cr2 0 one run in three).  A kind
 * and an address of two waits read together give a stale answer at worst:
 * who may run, once. */
void smp_wait_on(enum smp_wait kind, const volatile void *addr, uint64_t value)
{
	struct pcpu *pc = curcpu();

	if (kind != WAIT_NONE) {
		pc->pc_wait_addr = addr;
		pc->pc_wait_value = value;
	}
	__atomic_store_n(&pc->pc_wait_kind, kind, __ATOMIC_RELEASE);
}

/* CPU pc waits for something that has not happened yet: it cannot run */
static bool blocked(const struct pcpu *pc)
{
	switch (__atomic_load_n(&pc->pc_wait_kind, __ATOMIC_ACQUIRE)) {
	case WAIT_EQ32:
		return *(const volatile uint32_t *)pc->pc_wait_addr != (uint32_t)pc->pc_wait_value;
	case WAIT_GE64:
		return *(const volatile uint64_t *)pc->pc_wait_addr < pc->pc_wait_value;
	default:
		return false;
	}
}

/* xorshift64*: the CPU's own stream */
static uint64_t pct_draw(struct pcpu *pc)
{
	uint64_t x = pc->pc_pct_rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	pc->pc_pct_rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* another CPU is up, not idle and not waiting */
static bool others_run(const struct pcpu *me)
{
	for (uint32_t c = 0; c < smp_ncpus(); c++) {
		if (c == me->pc_cpuid)
			continue;
		if (smp_info.cpu[c].state == PTS_CPU_BUSY && !blocked(&pcpu[c]) &&
		    !__atomic_load_n(&pcpu[c].pc_held, __ATOMIC_ACQUIRE))
			return true;
	}
	return false;
}

void preempt_point(enum preempt_point p)
{
	struct pcpu *pc;
	uint64_t epoch;

	if (sched_point(p) || p >= PREEMPT_PCT_POINTS || pct_seed == 0 || smp_ncpus() <= 1)
		return;
	pc = curcpu();
	if (pct_draw(pc) % PREEMPT_ODDS != 0)
		return;
	(void)p; /* every point is alike to this scheduler; the names are for people */
	pc->pc_holds++;
	epoch = __atomic_load_n(&preempt_epoch, __ATOMIC_ACQUIRE);
	__atomic_store_n(&pc->pc_held, 1, __ATOMIC_RELEASE); /* two held CPUs both go on */
	while (others_run(pc) && __atomic_load_n(&preempt_epoch, __ATOMIC_ACQUIRE) == epoch)
		cpu_pause();
	__atomic_store_n(&pc->pc_held, 0, __ATOMIC_RELEASE);
}
