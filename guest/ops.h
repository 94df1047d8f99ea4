/* guest/ops.h - the op executor (guest/ops.c), the introspection descriptor
 * (guest/descriptor.c) and the built-in smoke scenario (guest/smoke.c).
 */
#ifndef GUEST_OPS_H
#define GUEST_OPS_H

#include "kernel.h"

extern struct pts_ring ops_ring;

/* Execute one op record: validate, run, write result, value and cycles. */
void ops_execute(struct pts_op *op);
/* Serve the host's command ring until it sets quit. */
__noreturn void ops_ring_run(void);

/* Fill the descriptor and, under ptshadow, register it with the host. */
void descriptor_register(void);

/* Run the smoke scenario through ops_execute and exit: 0 when every op gave
 * its result and nothing was left behind. */
__noreturn void smoke_run(void);

#endif /* GUEST_OPS_H */
