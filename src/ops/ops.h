/* src/ops/ops.h - the op language on the host: scripts of pmap operations, their
 * parser, their canonical text form, and building them from code.
 *
 * A script is what `ptshadow run --ops`, reproducers, minimised cases and the
 * corpus are made of (grammar: docs/op-language.md).  Each op carries the
 * struct pts_op record that goes into the command ring, the line it came
 * from, an optional expected result, and the pmap *name* it was written with.
 * Names map to slots 0..PTS_MAX_PMAPS-1: `create` takes the lowest free slot,
 * `destroy` frees it, so a name may be created again later.  The slot in
 * op.pmap is derived from the names, never the other way round: after editing
 * the ops of a script, call script_assign_slots() again.
 *
 * Errors are written as "FILE:LINE: message" into the caller's buffer; the
 * message names the token at fault.  Nothing here aborts on bad input.
 */
#ifndef PTSHADOW_OPS_H
#define PTSHADOW_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ptshadow/abi.h>

#define OPS_NAME_MAX    16u             /* pmap name: [a-z][a-z0-9_]{0,15} */
#define OPS_LINE_MAX    4096u           /* bytes in a line, newline excluded */
#define OPS_TEXT_MAX    128u            /* enough for any formatted op + result */
#define OPS_SCHED_STEPS PTS_SCHED_STEPS /* steps of one group's schedule */
/* A script file may have at most this many bytes: what is read of it is
 * bounded (`--ops /dev/zero` is refused, not read for ever), and so is the
 * memory its ops take (a struct script_op is 168 bytes, the shortest line 9:
 * ~300 MiB at worst, ~105 MiB for lines of the usual ~25 bytes).  A
 * reproducer of the fuzzer's default 1000-op sequences is ~25 KiB; one of a
 * campaign that never restarts (--sequence-length 0) outgrows the limit
 * after ~650,000 ops. */
#define OPS_FILE_MAX (16u << 20)
/* The largest managed arena (pg0 .. pg16777215): --arena, a report's
 * arena_pages and a profile's pages are refused above it. */
#define OPS_ARENA_MAX (1u << 24)

/* What a script may refer to: pages of the managed arena (pg0..pg<N-1>) and
 * pages of the kenter window (k+0 .. k+(N-1)*4096), and the CPUs an op may
 * name with its `cpuN:` prefix. */
struct ops_limits {
	uint64_t arena_pages;
	uint64_t kenter_pages;
	uint32_t cpus; /* CPUs of the run: cpu0: .. cpu<N-1>: (0 or default: PTS_MAX_CPUS) */
};

void ops_limits_default(struct ops_limits *lim);

struct script_op {
	struct pts_op op;                 /* op.pmap is the slot; op.seq the op index */
	unsigned line;                    /* 1-based source line; 0 = built by code */
	bool has_expect;                  /* the line ended with `=> RESULT` */
	uint32_t expect;                  /* enum pts_result */
	uint64_t expect_value;            /* page index when expect == PTS_RES_PAGE */
	char pmap_name[OPS_NAME_MAX + 1]; /* "" for ops that name no pmap */
	/* groups (`par {` ... `}`, docs/op-language.md): the ops of a block have
	 * the same group number, unique in the script (0: in none); the block's
	 * schedule is on its first op */
	uint32_t group;
	bool has_schedule;              /* the block's `}` named a schedule */
	bool free_run;                  /* ... and it was `schedule free` (no steps) */
	uint8_t nsteps;                 /* steps in it, at most OPS_SCHED_STEPS */
	uint8_t steps[OPS_SCHED_STEPS]; /* the CPU let go at each step */
};

struct script {
	char *file; /* for messages: a path, or a label like "<scenario basic>" */
	struct script_op *ops;
	size_t n_ops;
	size_t cap;
};

/* ---- the op table ------------------------------------------------------- */

/* One entry per row of PTS_OP_TABLE (include/ptshadow/optable.h), which
 * tells the argument codes. */
struct op_syntax {
	const char *name;  /* first token */
	uint32_t kind;     /* enum pts_op_kind */
	const char *args;  /* argument codes */
	const char *usage; /* for messages and docs: "enter P VA PG PROT ..." */
	uint32_t results;  /* mask of 1u << enum pts_result it may produce */
	const char *note;  /* for docs/op-language.md, "" for none */
};

const struct op_syntax *op_syntax_by_name(const char *name);
const struct op_syntax *op_syntax_by_kind(uint32_t kind); /* NULL if none */
const char *op_kind_name(uint32_t kind);                  /* the op's name, or "?" */
bool op_names_pmap(uint32_t kind);                        /* create, enter, touch, ... */

/* Whether op can ever produce result (enomem only from `enter ... canfail`). */
bool op_result_possible(const struct pts_op *op, uint32_t result);

/* ---- parsing ------------------------------------------------------------ */

/* Parse a script.  lim may be NULL (defaults).  On success *out is a new
 * script (free with script_free) and 0 is returned; on error -1, *out is
 * NULL and err holds "FILE:LINE: message" ("FILE: reason" when the file
 * cannot be read, is a directory or has more than OPS_FILE_MAX bytes; of a
 * pipe or a device at most OPS_FILE_MAX + 1 bytes are read). */
int script_parse_file(const char *path, const struct ops_limits *lim, struct script **out,
                      char *err, size_t errlen);
/* text need not be NUL-terminated and may contain NULs (they are an error);
 * name is the FILE of messages. */
int script_parse_string(const char *name, const char *text, size_t len,
                        const struct ops_limits *lim, struct script **out, char *err,
                        size_t errlen);

/* Parse one line (NUL-terminated, no newline) into *out, without a slot:
 * out->pmap_name is set, out->op.pmap is 0 and out->line 0.  1 = an op,
 * 0 = blank or comment line, -1 = error with the message (no FILE:LINE
 * prefix) in msg. */
int script_op_parse(const char *line, const struct ops_limits *lim, struct script_op *out,
                    char *msg, size_t msglen);

/* A result's word (optable.h), or pg<N> (also pending and einval, which no
 * op may be expected to give).  0 or -1. */
int result_parse(const char *text, uint32_t *result, uint64_t *value);

/* ---- text form ---------------------------------------------------------- */

/* Canonical text of the op without result, e.g. "enter a 0x400000 pg3 rw
 * wired canfail".  An op with an empty pmap_name is written with the name
 * "p<slot>".  Return as snprintf. */
int script_op_format(const struct script_op *sop, char *buf, size_t len);
/* ok, pg7, none, true, ... ; result<N> for unknown values. */
int result_format(uint32_t result, uint64_t value, char *buf, size_t len);

/* ---- groups (src/ops/ops_group.c) -------------------------------------- */

/* The number of ops from i on that run together (1: i is in no group). */
size_t script_group_len(const struct script *s, size_t i);
/* a group of s is `schedule free` (its CPUs race: docs/smp.md) */
bool script_has_free_group(const struct script *s);
/* Whether op kind may run in a group (not create, destroy, fail, zero, ...). */
bool op_kind_groupable(uint32_t kind);
/* "} schedule 0 1 ..." of the group whose first op is sop (schedule from its
 * ops), or "}" */
int script_group_close_format(const struct script *s, size_t first, char *buf, size_t len);

/* Write ops[0..n_ops) (clamped to the script), one a line, in canonical text;
 * with_results appends "=> RESULT" to the ops that have an expectation.  The
 * output parses back to the same ops.  0, or -1 on a write error. */
int script_write(FILE *f, const struct script *s, size_t n_ops, bool with_results);

/* ---- building from code ------------------------------------------------- */

struct script *script_new(const char *file); /* NULL when out of memory */
void script_free(struct script *s);
/* Append a copy of sop; op.seq becomes its index.  0, or -1 (out of memory). */
int script_append(struct script *s, const struct script_op *sop);
/* Re-derive every op.pmap from the names, in order.  A script in which an op
 * names a pmap that is not alive, creates a live name again, or has more than
 * PTS_MAX_PMAPS alive is invalid: -1 and "FILE:LINE: message" (LINE is the
 * op's line, or its index + 1 for ops built by code). */
int script_assign_slots(struct script *s, char *err, size_t errlen);

/* the op's result is what its `=> RESULT` says (true without one) */
bool script_op_expect_met(const struct script_op *sop);

#endif /* PTSHADOW_OPS_H */
