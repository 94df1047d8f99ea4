/* src/fuzz/fuzz.h - fuzz profiles (configs/fuzz/NAME.ini) and the op generator.
 * The generator is deterministic: the same profile, seed and arena give the
 * same op stream, and it only ever emits ops that are valid for the pmap
 * state it has generated so far (names alive, pages in range).
 */
#ifndef PTSHADOW_FUZZ_H
#define PTSHADOW_FUZZ_H

#include <stdbool.h>
#include <stdint.h>

#include "ops.h"

#define FUZZ_MAX_REGIONS 16
#define FUZZ_MAX_NAMES   64
/* A profile file may have at most this many bytes (they are a few KiB): a
 * pipe or a device given as --profile is read no further. */
#define FUZZ_PROFILE_MAX (64u << 10)

struct fuzz_region {
	uint64_t start; /* page aligned user VA */
	uint64_t pages; /* VAs start .. start + pages*4K */
};

struct fuzz_profile {
	char name[64];
	char path[512];
	uint32_t weight[PTS_OP_COUNT]; /* by enum pts_op_kind; 0 = never */
	uint64_t pages;                /* generator uses pg0..pg<pages-1> (clamped to the arena;
	                                  `fuzz` refuses a profile with more pages than the arena) */
	unsigned max_pmaps;            /* alive at once */
	unsigned max_range;            /* pages in a remove/protect range */
	unsigned wired_pct;            /* enters that are wired */
	unsigned canfail_pct;          /* enters that are canfail */
	unsigned fail_pct;             /* canfail enters preceded by `fail alloc N` */
	unsigned remap_pct;            /* enters aimed at an already mapped VA */
	unsigned kenter_pages;         /* kenter window pages used */
	unsigned burst_permille;       /* chance per op (in 1/1000) of a burst of enters */
	unsigned burst_len;            /* enters in a burst: consecutive VAs of one region */
	unsigned nregions;
	struct fuzz_region region[FUZZ_MAX_REGIONS];
	char cmdline[256]; /* [guest] cmdline: boot options of the guest ("" none) */
};

/* Load a profile: a path, or a name looked up as configs/fuzz/NAME.ini next
 * to the binary's source tree (dir). 0, or -1 with "FILE:LINE: message"
 * ("FILE: message" about the whole file).  A key set twice is an error. */
int fuzz_profile_load(const char *name_or_path, struct fuzz_profile *p, char *err, size_t errlen);
void fuzz_profile_default(struct fuzz_profile *p);

struct rng {
	uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n); /* 0..n-1, n > 0 */

struct fuzz_gen_va {
	uint64_t va;
	uint32_t page; /* what the generator last entered there */
};

struct fuzz_gen {
	const struct fuzz_profile *prof;
	struct rng rng;
	uint64_t arena_pages;
	uint64_t total_weight;
	bool alive[FUZZ_MAX_NAMES];
	uint32_t slot_of[FUZZ_MAX_NAMES];
	bool slot_used[PTS_MAX_PMAPS];
	unsigned nalive;
	/* VAs recently entered per pmap name, to aim removes, touches, re-enters */
	struct fuzz_gen_va recent[FUZZ_MAX_NAMES][32];
	unsigned nrecent[FUZZ_MAX_NAMES];
	struct script_op pending; /* the enter that follows a `fail alloc` */
	bool has_pending;
	/* a burst in progress: many live pv entries at once (pool growth) */
	unsigned burst_left, burst_name;
	uint64_t burst_va, burst_end;
	uint32_t ncpus; /* the ops name cpu0..cpu<ncpus-1> (1: all on cpu0) */
};

void fuzz_gen_init(struct fuzz_gen *g, const struct fuzz_profile *p, uint64_t seed,
                   uint64_t arena_pages);
/* The next op (never fails; op.pmap is a slot consistent with the names). */
void fuzz_gen_next(struct fuzz_gen *g, struct script_op *out);
/* Ops on ncpus CPUs from now (fuzz_gen_init: 1). */
void fuzz_gen_set_cpus(struct fuzz_gen *g, uint32_t ncpus);
/* With several CPUs, one time in FUZZ_GROUP_ODDS: ops that run at once,
 * 2 to min(ncpus, PTS_GROUP_MAX), on distinct CPUs, into ops[] (room for
 * PTS_GROUP_MAX); those of the group have group 1 (the caller numbers
 * groups), an op after them that cannot be in one (fail alloc) has 0.  How
 * many ops (0: no group this time; one CPU draws nothing). */
#define FUZZ_GROUP_ODDS 4u
size_t fuzz_gen_group(struct fuzz_gen *g, struct script_op *ops);
/* Forget all pmaps (after a VM reset). */
void fuzz_gen_reset_state(struct fuzz_gen *g);
/*
 * For ops the generator did not draw (a corpus entry replayed or mutated,
 * src/fuzz/guide.c): take o as the next op of the stream.  false when it is
 * not valid here (its pmap name is not one of the generator's, is not alive,
 * or a create names a live one); else the generator's state follows it
 * (names, slots, recent VAs) and o->op.pmap is its name's slot.
 */
bool fuzz_gen_observe(struct fuzz_gen *g, struct script_op *o);
/* An op of the kind with its arguments drawn as fuzz_gen_next draws them;
 * false when the pmaps alive do not allow it.  Like fuzz_gen_next it may
 * leave the op it armed a failure for pending (fuzz_gen_next gives it). */
bool fuzz_gen_kind(struct fuzz_gen *g, uint32_t kind, struct script_op *out);

#endif /* PTSHADOW_FUZZ_H */
