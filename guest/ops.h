/* guest/ops.h - the op executor (guest/ops.c), the introspection descriptor
 * (guest/descriptor.c), the op-language runner (guest/script.c) and the
 * built-in smoke scenario (guest/smoke.c).
 */
#ifndef GUEST_OPS_H
#define GUEST_OPS_H

#include "kernel.h"

extern struct pts_ring ops_ring;

/* Execute one op record: validate, run, write result, value and cycles. */
void ops_execute(struct pts_op *op);
const char *ops_kind_name(uint32_t kind);
const char *ops_result_name(uint32_t result);
/* Serve the host's command ring until it sets quit. */
__noreturn void ops_ring_run(void);

/* Fill the descriptor and, under ptshadow, register it with the host. */
void descriptor_register(void);

/*
 * Run a scenario in the op language (DESIGN.md); lines with "=> RESULT" are
 * checked.  Returns the number of mismatches (and of lines it could not
 * parse); stops at the first one when stop_at_first.
 */
unsigned script_run(const char *name, const char *text, bool stop_at_first, unsigned *nops);

/* Boot: copy the scenario at cmdline "script=PA" (a test hook) before the
 * pmap takes over physical memory; NULL when there is none. */
void script_capture(void);
const char *script_captured(void);

__noreturn void smoke_run(void);

#endif /* GUEST_OPS_H */
