/* guest/sched.h - a group's CPUs run one at a time, passing a token at the
 * preemption points, in the order the host's schedule says (docs/smp.md,
 * "Groups"; the schedule's rules at struct pts_sched in abi.h).
 *
 * Only the CPU holding the token runs pmap code; the others wait at a point,
 * or in a spin for a lock (they serve shootdowns meanwhile, which need no
 * token: an invalidation and an ack change nothing another CPU decides on).
 * A CPU spinning for a lock gives the token away, since only the lock's
 * holder can free it; a sender waiting for acks keeps it, since the acks
 * come without it.  So what a group does depends on the schedule alone.
 */
#ifndef GUEST_SCHED_H
#define GUEST_SCHED_H

#include "kernel.h"
#include "preempt.h"

/* CPU 0: run the group ops[0..n) (records already checked: distinct CPUs
 * up, kinds that may run together) under the schedule in the ring */
void sched_run_group(struct pts_op *ops, uint32_t n);
/* an AP: its op of the group (SMP_CMD_GROUP_OP) */
void sched_run_member(struct pts_op *op);
/* a preemption point: true when it belongs to a group's schedule (handled),
 * or a group runs at all (pct= holds none then: a CPU outside the group held
 * at a point would keep its ack from a sender that holds the token) */
bool sched_point(enum preempt_point p);

#endif /* GUEST_SCHED_H */
