/* monitor/model_group.c - the model of a group of ops run at once: judged
 * against every order of its ops (docs/smp.md, "Groups").
 *
 * The ops of a group may run in any order the schedule gives, and parts of
 * them interleave; a correct pmap's ops are atomic under their locks, so
 * its state after the group, and each op's result, are those of some order.
 * The model tries the orders (at most PTS_GROUP_MAX! = 24) and takes the
 * first that explains every result the guest gave and leaves the mappings
 * the page tables hold (env->judge), else the one that comes closest: its
 * findings are then the group's.  Where two orders that explain everything
 * predict a page's modified or referenced bit differently, the prediction
 * is "maybe": no order is preferred to another.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pte.h"

static int model_copy(struct model *dst, const struct model *src)
{
	if (model_init(dst, src->npage, src->nkenter, src->user_max) != 0)
		return -1;
	memcpy(dst->live, src->live, sizeof dst->live);
	memcpy(dst->active, src->active, sizeof dst->active);
	dst->ncpus = src->ncpus;
	dst->armed = src->armed;
	dst->fail_lo = src->fail_lo;
	dst->fail_hi = src->fail_hi;
	memcpy(dst->page, src->page, src->npage * sizeof *src->page);
	memcpy(dst->kenter, src->kenter, src->nkenter * sizeof *src->kenter);
	for (size_t s = 0; s < PTS_MAX_PMAPS; s++) {
		size_t n = src->slot[s].n;
		if (n == 0)
			continue;
		dst->slot[s].map = malloc(n * sizeof *dst->slot[s].map);
		if (dst->slot[s].map == NULL) {
			model_free(dst);
			return -1;
		}
		memcpy(dst->slot[s].map, src->slot[s].map, n * sizeof *dst->slot[s].map);
		dst->slot[s].n = dst->slot[s].cap = n;
	}
	dst->nmap = src->nmap;
	return 0;
}

/* the next permutation of order[0..k) in lexicographic order; false after the last */
static bool next_order(uint8_t *order, size_t k)
{
	size_t i = k - 1, j = k - 1;

	while (i > 0 && order[i - 1] >= order[i])
		i--;
	if (i == 0)
		return false;
	while (order[j] <= order[i - 1])
		j--;
	uint8_t t = order[i - 1];
	order[i - 1] = order[j];
	order[j] = t;
	for (size_t a = i, b = k - 1; a < b; a++, b--) {
		t = order[a];
		order[a] = order[b];
		order[b] = t;
	}
	return true;
}

/* one order being tried: the PTPs the enters before op i in it made exist
 * for the ones after (the env's tables are those before the group) */
struct order_env {
	const struct model_env *env;
	const struct pts_op *ops;
	const uint8_t *order;
	size_t i;
};

static unsigned order_missing_ptps(void *ctx, uint32_t slot, uint64_t va)
{
	const struct order_env *o = ctx;
	unsigned missing = o->env->missing_ptps(o->env->ctx, slot, va);

	for (size_t j = 0; j < o->i; j++) {
		const struct pts_op *e = &o->ops[o->order[j]];
		unsigned level = 3;
		if (e->kind != PTS_OP_ENTER || e->pmap != slot || e->result != PTS_RES_OK)
			continue;
		while (level >= 1 && ((va ^ e->va) & ~(level_span(level + 1) - 1)) == 0)
			level--; /* the table at this level, over va, is e's */
		if (level < missing)
			missing = level;
	}
	return missing;
}

/* the pool as the tables before the group show it holds for the order's first
 * op only: an earlier op of the order may have added or taken pool items */
static bool order_pool_empty(void *ctx)
{
	const struct order_env *o = ctx;
	return o->i == 0 && o->env->pool_empty(o->env->ctx);
}

/* the ops in this order on a copy of m: how far it is from the guest (its
 * findings first, then the judge's distance; 0: it explains all), or -1
 * (out of memory) */
static int64_t try_order(const struct model *m, const struct pts_op *ops, const uint8_t *order,
                         size_t k, const struct model_env *env, struct model *out)
{
	struct order_env oe = {env, ops, order, 0};
	struct model_env quiet = {.missing_ptps = env->missing_ptps ? order_missing_ptps : NULL,
	                          .pool_empty = env->pool_empty ? order_pool_empty : NULL,
	                          .ctx = &oe};
	struct model_out mo;
	int64_t n = 0;
	size_t far;

	if (model_copy(out, m) != 0)
		return -1;
	for (size_t i = 0; i < k; i++) {
		oe.i = i;
		if (model_apply(out, &ops[order[i]], &quiet, &mo) != 0)
			return -1;
		n += mo.n;
	}
	far = env->judge != NULL ? env->judge(env->judge_arg, out) : 0;
	return (n << 32) + (int64_t)(far < 0xffffffffu ? far : 0xffffffffu);
}

/* pages whose predictions differ between two explaining orders: maybe */
static void merge_pages(struct model_page *keep, const struct model *other, size_t npage)
{
	for (size_t p = 0; p < npage; p++) {
		if (keep[p].modified != other->page[p].modified)
			keep[p].modified = TRI_MAYBE;
		if (keep[p].referenced != other->page[p].referenced)
			keep[p].referenced = TRI_MAYBE;
	}
}

/* the first order with the fewest findings into best[]; the pages two
 * explaining orders disagree on into maybe[] (npage entries) */
static int choose_order(const struct model *m, const struct pts_op *ops, size_t k,
                        const struct model_env *env, uint8_t *best, struct model_page *maybe)
{
	uint8_t order[PTS_GROUP_MAX];
	int64_t fewest = -1;
	bool first_clean = true;

	for (size_t i = 0; i < k; i++)
		order[i] = (uint8_t)i;
	do {
		struct model t;
		int64_t n = try_order(m, ops, order, k, env, &t);
		if (n < 0)
			return -1;
		if (n == 0 && first_clean)
			memcpy(maybe, t.page, m->npage * sizeof *maybe);
		else if (n == 0)
			merge_pages(maybe, &t, m->npage);
		first_clean = first_clean && n != 0;
		if (fewest < 0 || n < fewest) {
			fewest = n;
			memcpy(best, order, k);
		}
		model_free(&t);
	} while (next_order(order, k));
	return fewest == 0 ? 1 : 0;
}

static void out_merge(struct model_out *all, const struct model_out *one, bool first)
{
	if (first) {
		*all = *one;
		return;
	}
	all->valid = all->valid && one->valid;
	all->unchanged = all->unchanged && one->unchanged;
	for (unsigned i = 0; i < one->n && all->n < MODEL_MAX_FINDINGS; i++)
		all->f[all->n++] = one->f[i];
}

/* the ops on m itself, in the order chosen, telling env what changes */
static int apply_order(struct model *m, const struct pts_op *ops, size_t k,
                       const struct model_env *env, const uint8_t *order, struct model_out *out)
{
	struct order_env oe = {env, ops, order, 0};
	struct model_env each = *env;

	if (env->missing_ptps != NULL) {
		each.missing_ptps = order_missing_ptps;
		each.ctx = &oe;
	}
	for (size_t i = 0; i < k; i++) {
		struct model_out one;
		oe.i = i;
		if (model_apply(m, &ops[order[i]], &each, &one) != 0)
			return -1;
		out_merge(out, &one, i == 0);
	}
	return 0;
}

int model_apply_group(struct model *m, const struct pts_op *ops, size_t k,
                      const struct model_env *env, struct model_out *out, uint8_t *order)
{
	struct model_page *maybe = calloc(m->npage ? m->npage : 1, sizeof *maybe);
	static const struct model_env none;
	int clean = -1;

	if (env == NULL)
		env = &none;
	if (maybe != NULL && k > 0 && k <= PTS_GROUP_MAX)
		clean = choose_order(m, ops, k, env, order, maybe);
	if (clean < 0 || apply_order(m, ops, k, env, order, out) != 0) {
		free(maybe);
		return -1;
	}
	if (clean)
		memcpy(m->page, maybe, m->npage * sizeof *maybe);
	free(maybe);
	return 0;
}
