/* monitor/model.h - the reference model: what docs/semantics.md says the pmap
 * state must be after each op, independent of how the guest implements it.
 */
#ifndef MONITOR_MODEL_H
#define MONITOR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ptshadow/abi.h>

/* a prediction that may be unknown: after a faulting touch, A is unspecified */
enum tri { TRI_NO = 0, TRI_YES = 1, TRI_MAYBE = 2 };

struct model_map {
	uint32_t slot;
	uint64_t va;
	uint32_t page;
	uint8_t prot;
	uint8_t wired;
};

struct model_kenter {
	bool on;
	uint32_t page;
	uint8_t prot;
};

struct model_page {
	uint8_t modified, referenced; /* enum tri: what is_modified / is_referenced must say */
};

/* one pmap's mappings, sorted by va */
struct model_maps {
	struct model_map *map;
	size_t n, cap;
};

struct model {
	bool live[PTS_MAX_PMAPS];
	struct model_maps slot[PTS_MAX_PMAPS];
	size_t nmap; /* in all slots */
	struct model_kenter *kenter;
	size_t nkenter;
	struct model_page *page;
	size_t npage;
	uint64_t user_max;
	int32_t active[PTS_MAX_CPUS]; /* per CPU: slot, or -1 for the kernel pmap */
	uint32_t ncpus;               /* CPUs up: an op naming another is invalid */
	/* fault injection: the failing allocation is the lo..hi-th counted one from now */
	bool armed;
	uint64_t fail_lo, fail_hi;
	/* during model_apply: who is told what changes, and whether telling failed */
	const struct model_env *env;
	bool changes_lost;
};

/* what an op changes in the model, told as the model changes it */
enum model_change {
	MODEL_MAPPING, /* the mapping of (slot, va) */
	MODEL_PAGE,    /* the modified / referenced prediction of an arena page */
	MODEL_KENTER,  /* a kenter window page */
};

/* what the model needs from the pre-op page tables, and who wants to know
 * what an op changes */
struct model_env {
	/* PTPs enter would have to allocate for (slot, va) */
	unsigned (*missing_ptps)(void *ctx, uint32_t slot, uint64_t va);
	/* the pv pool has no free item: the pv entry enter takes needs a new
	 * pool page, one more counted allocation (NULL: never) */
	bool (*pool_empty)(void *ctx);
	void *ctx;
	/* each mapping (slot, x = va), page prediction (x = arena page) and kenter
	 * page (x = window page) the op changes, as it changes it: the incremental
	 * check's scope (NULL: nobody asks).  -1 (out of memory) makes model_apply
	 * return -1. */
	int (*changed)(void *arg, enum model_change what, uint32_t slot, uint64_t x);
	void *changed_arg;
	/* a group: how far the mappings a candidate order leaves are from what
	 * the page tables hold after it (0: the same; NULL: results alone judge) */
	size_t (*judge)(void *arg, const struct model *candidate);
	void *judge_arg;
};

#define MODEL_MAX_FINDINGS 4
struct model_finding {
	const char *inv;
	char msg[200];
};

struct model_out {
	bool valid;     /* the op was valid (else EINVAL expected) */
	bool unchanged; /* the op failed: state must equal the pre-op state (enomem, einval) */
	struct model_finding f[MODEL_MAX_FINDINGS];
	unsigned n;
};

int model_init(struct model *m, size_t npages, size_t nkenter, uint64_t user_max);
void model_free(struct model *m);
/* insert or replace (slot, va); -1 on ENOMEM (a slot out of range is ignored) */
int model_set(struct model *m, const struct model_map *e);
const struct model_map *model_lookup(const struct model *m, uint32_t slot, uint64_t va);
/* slot's mappings, sorted by va (n = 0 for a slot out of range) */
const struct model_map *model_maps(const struct model *m, uint32_t slot, size_t *n);
/* index in model_maps(slot) of the first mapping at or after va */
size_t model_first(const struct model *m, uint32_t slot, uint64_t va);
/*
 * Apply op (with the guest's result in op->result), checking results.  Each
 * op kind has its rule here, its validity and its effect, written from
 * docs/semantics.md and not from the op table's argument codes, so the model
 * stays a reference independent of the parser and the guest.  0, or -1 when
 * env->changed failed.  A kind of PTS_OP_TABLE without a rule is an internal
 * error (bug.h); a kind outside it is an invalid record.
 */
int model_apply(struct model *m, const struct pts_op *op, const struct model_env *env,
                struct model_out *out);
/* The group ops[0..k) (k <= PTS_GROUP_MAX), run at once (monitor/model_group.c):
 * each order tried on a copy of the model before the tables after the
 * group are read, what it found and what it leaves; then the first order
 * that explains the guest's results and the tables becomes the model.  At
 * most PTS_GROUP_MAX! = 24 orders. */
#define MODEL_MAX_ORDERS 24
struct model_tries {
	size_t k, n;
	uint8_t order[MODEL_MAX_ORDERS][PTS_GROUP_MAX];
	struct model cand[MODEL_MAX_ORDERS];
	struct model_out out[MODEL_MAX_ORDERS];
	uint64_t findings[MODEL_MAX_ORDERS];
};
/* Every order of ops[0..k) on copies of m into t (env->missing_ptps and
 * pool_empty: the tables before the group).  env->changed hears what each
 * order changes: together a superset of what the order picked changes.
 * 0, or -1 (out of memory or k out of range). */
int model_group_try(const struct model *m, const struct pts_op *ops, size_t k,
                    const struct model_env *env, struct model_tries *t);
/* The try picked (env->judge: against the tables after the group) becomes
 * m; its order into order[0..k), its findings into out; t is emptied. */
int model_group_pick(struct model *m, struct model_tries *t, const struct model_env *env,
                     struct model_out *out, uint8_t *order);
void model_tries_free(struct model_tries *t);
/* predicted modified / referenced state of an arena page */
enum tri model_modified(const struct model *m, uint32_t page);
enum tri model_referenced(const struct model *m, uint32_t page);
const char *result_name(uint32_t result);

#endif /* MONITOR_MODEL_H */
