/* guest/lock.h - the guest's one lock: a test-and-test-and-set spin lock that
 * knows its owner, so that code can assert it holds a lock (KASSERT(
 * spin_owned(&pm->pm_lock))), as the BSDs' mtx_assert(MA_OWNED) does.
 *
 * The kernel runs with interrupts off.  A CPU spinning for a lock (or for
 * anything else) serves the TLB shootdowns addressed to it meanwhile
 * (smp_poll), so a sender that holds a lock while it waits for acks never
 * deadlocks with a CPU that waits for that lock.  The order in which locks
 * are taken is in guest/pmap.c's top comment.
 */
#ifndef GUEST_LOCK_H
#define GUEST_LOCK_H

#include "kernel.h"

#define LOCK_FREE 0u /* zeroed memory is a free lock */

struct spinlock {
	volatile uint32_t owner; /* 1 + cpuid of the holder, LOCK_FREE when free */
	uint32_t pad;
};

#define SPINLOCK_INIT                                                                              \
	{                                                                                          \
		LOCK_FREE, 0                                                                       \
	}

uint32_t cpu_number(void); /* guest/smp.c */
void smp_poll(void);       /* guest/smp.c: serve a pending shootdown */
/* guest/preempt.c: this CPU waits until the u32 at addr is value (WAIT_EQ32) or
 * the u64 there reaches value (WAIT_GE64); WAIT_NONE: no longer */
enum smp_wait { WAIT_NONE = 0, WAIT_EQ32, WAIT_GE64 };
void smp_wait_on(enum smp_wait kind, const volatile void *addr, uint64_t value);
/* guest/sched.c: in a group, a lock acquisition is a preemption point, and a
 * CPU spinning for a lock gives the token to one that can run */
void sched_lock_point(void);
void sched_spin(void);

static inline void spin_init(struct spinlock *l)
{
	l->owner = LOCK_FREE;
}

static inline bool spin_trylock(struct spinlock *l)
{
	uint32_t expect = LOCK_FREE;

	return __atomic_compare_exchange_n(&l->owner, &expect, cpu_number() + 1, false,
	                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline bool spin_owned(const struct spinlock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == cpu_number() + 1;
}

/* spins with loads only, serving shootdowns; `pause` lets another vCPU run
 * under QEMU's round-robin TCG */
static inline void spin_lock(struct spinlock *l)
{
	bool waited = false;

	KASSERT(!spin_owned(l)); /* not recursive */
	sched_lock_point();
	while (!spin_trylock(l)) {
		if (!waited)
			smp_wait_on(WAIT_EQ32, &l->owner, LOCK_FREE), waited = true;
		while (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) != LOCK_FREE) {
			smp_poll();
			sched_spin();
			__asm__ volatile("pause" ::: "memory");
		}
	}
	if (waited)
		smp_wait_on(WAIT_NONE, NULL, 0);
}

/* a leaf lock (the ledger's, the console's): its holder waits for nothing,
 * so its waiters need not serve shootdowns */
static inline void spin_lock_leaf(struct spinlock *l)
{
	while (!spin_trylock(l))
		while (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) != LOCK_FREE)
			__asm__ volatile("pause" ::: "memory");
}

static inline void spin_unlock(struct spinlock *l)
{
	KASSERT(spin_owned(l));
	__atomic_store_n(&l->owner, LOCK_FREE, __ATOMIC_RELEASE);
}

#endif /* GUEST_LOCK_H */
