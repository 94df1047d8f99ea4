/* guest/preempt.h - named preemption points and the seeded scheduler that
 * may hold a CPU at one (docs/smp.md, "Interleaving at preemption points").
 *
 * With "pct=SEED" (SEED >= 1) on the command line and more than one CPU, a
 * CPU that reaches a point draws from its own stream (seeded by SEED and
 * its index, advanced once a point) and, one time in PREEMPT_ODDS, lowers
 * its priority below every other CPU's: it stays at the point while another
 * CPU runs, that is until every other CPU is idle or waits (for a lock, an
 * ack, a mailbox), or CPU 0 starts the next op.  CPU 0 waiting for the host
 * runs: a CPU held at a point stays there while the host checks the op.
 * The draws depend on the points a CPU reaches, so a script replays the same
 * holds from the post-boot snapshot.  Without pct= a point is one branch.
 */
#ifndef GUEST_PREEMPT_H
#define GUEST_PREEMPT_H

#include "kernel.h"

#define PREEMPT_ODDS 3u

/* X(name, where): in a group every point is a step of the host's schedule
 * (guest/sched.c); with pct= only the shootdown's (PREEMPT_PCT_POINTS) */
#define PREEMPT_POINTS(X)                                                                          \
	X(SD_SENT, "shootdown: sent, before the sender's own invalidation")                        \
	X(SD_WAIT, "shootdown: before the sender waits for the acks")                              \
	X(SD_RECV, "shootdown: a target, before it invalidates")                                   \
	X(SD_MID, "shootdown: a target, between its invalidation and its ack")                     \
	X(PTE_SWAPPED, "a PTE swapped out (pv lock held), before its A/D harvest")                 \
	X(PV_UNLOCKED, "the pv lock dropped, before pmap_update")                                  \
	X(PV_BACKOFF, "pv_lock_pmap: the pv lock dropped to wait for the pmap's")                  \
	X(ACTIVE_SET, "pmap_activate: in the new pm_active, before the CR3 load")                  \
	X(ACTIVE_LOADED, "pmap_activate: CR3 loaded, before leaving the old pm_active")            \
	X(LOCK, "before a lock is taken")                                                          \
	X(OP_START, "a group's op, before it starts")                                              \
	X(SPIN, "waiting for a lock another CPU holds")                                            \
	X(OP_DONE, "a group's op, done")
#define PREEMPT_PCT_POINTS 4u /* the first four: the shootdown's */

#define PREEMPT_ENUM(name, what) PP_##name,
enum preempt_point { PREEMPT_POINTS(PREEMPT_ENUM) PP_COUNT };
#undef PREEMPT_ENUM

void preempt_init(void);                  /* reads pct=SEED (cpu_init, after smp_bsp_init) */
void preempt_point(enum preempt_point p); /* a point: maybe held there */
void preempt_op_begin(void);              /* CPU 0: the next op starts (ends every hold) */
#define PMAP_PREEMPT(point) preempt_point(PP_##point)

#endif /* GUEST_PREEMPT_H */
