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
 *
 * Trying comes before the tables after the group are read (the orders need
 * only the tables before it), picking after: so an incremental check scopes
 * the group by what any order changes, a superset of what the one picked
 * changes, and reads only the pages the vCPUs wrote.
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
 * for the ones after, the PTPs the removes before it emptied do not (the
 * env's tables are those before the group); cand, the copy it runs on */
struct order_env {
	const struct model_env *env;
	const struct pts_op *ops;
	const uint8_t *order;
	size_t i;
	const struct model *cand;
};

/* the levels of PTP over (slot, va) that hold no mapping of cand: a pmap
 * frees a PTP when it empties */
static unsigned empty_ptps(const struct model *cand, uint32_t slot, uint64_t va)
{
	size_t n;
	const struct model_map *maps = model_maps(cand, slot, &n);

	for (unsigned level = 3; level >= 1; level--) {
		uint64_t span = level_span(level + 1), base = va & ~(span - 1);
		size_t i = model_first(cand, slot, base);
		if (i >= n || maps[i].va - base >= span)
			return level;
	}
	return 0;
}

/* an op before op i in the order took mappings of slot away */
static bool emptied_before(const struct order_env *o, uint32_t slot)
{
	for (size_t j = 0; j < o->i; j++) {
		const struct pts_op *e = &o->ops[o->order[j]];
		if (e->result == PTS_RES_OK && ((e->kind == PTS_OP_REMOVE && e->pmap == slot) ||
		                                e->kind == PTS_OP_PAGE_PROTECT))
			return true;
	}
	return false;
}

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
	if (o->cand != NULL && emptied_before(o, slot)) {
		unsigned empty = empty_ptps(o->cand, slot, va);
		missing = empty > missing ? empty : missing;
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

/* the ops in this order on a copy of m, t's next try: its findings and
 * outputs; env->changed hears every change.  0, or -1 (out of memory) */
static int try_order(const struct model *m, const struct pts_op *ops, const uint8_t *order,
                     size_t k, const struct model_env *env, struct model_tries *t)
{
	struct order_env oe = {env, ops, order, 0, &t->cand[t->n]};
	struct model_env each = {.missing_ptps = env->missing_ptps ? order_missing_ptps : NULL,
	                         .pool_empty = env->pool_empty ? order_pool_empty : NULL,
	                         .ctx = &oe,
	                         .changed = env->changed,
	                         .changed_arg = env->changed_arg};
	size_t at = t->n;

	memcpy(t->order[at], order, k);
	t->findings[at] = 0;
	if (model_copy(&t->cand[at], m) != 0)
		return -1;
	t->n++;
	for (size_t i = 0; i < k; i++) {
		struct model_out one;
		oe.i = i;
		if (model_apply(&t->cand[at], &ops[order[i]], &each, &one) != 0)
			return -1;
		t->findings[at] += one.n;
		out_merge(&t->out[at], &one, i == 0);
	}
	return 0;
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

void model_tries_free(struct model_tries *t)
{
	for (size_t i = 0; i < t->n; i++)
		model_free(&t->cand[i]);
	t->n = t->k = 0;
}

int model_group_try(const struct model *m, const struct pts_op *ops, size_t k,
                    const struct model_env *env, struct model_tries *t)
{
	static const struct model_env none;
	uint8_t order[PTS_GROUP_MAX];

	model_tries_free(t);
	if (k == 0 || k > PTS_GROUP_MAX)
		return -1;
	t->k = k;
	for (size_t i = 0; i < k; i++)
		order[i] = (uint8_t)i;
	do
		if (try_order(m, ops, order, k, env != NULL ? env : &none, t) != 0)
			return -1;
	while (next_order(order, k));
	return 0;
}

/* fault injection after the group: the union of what the explaining tries
 * leave (two enters of one page, one canfail: whichever went first made the
 * allocations, and the results do not tell which) */
struct fail_window {
	bool armed;
	uint64_t lo, hi;
};

static void window_join(struct fail_window *w, const struct model *cand)
{
	if (!cand->armed)
		return;
	w->lo = w->armed && w->lo < cand->fail_lo ? w->lo : cand->fail_lo;
	w->hi = w->armed && w->hi > cand->fail_hi ? w->hi : cand->fail_hi;
	w->armed = true;
}

/* the first try with the fewest findings, then the judge's distance (0: it
 * explains all); the pages two explaining tries disagree on, maybe; *w the
 * fault-injection window they leave together */
static size_t choose_try(const struct model_tries *t, const struct model_env *env,
                         struct model_page *maybe, size_t npage, bool *clean, struct fail_window *w)
{
	int64_t fewest = -1;
	size_t best = 0;

	*clean = false;
	for (size_t i = 0; i < t->n; i++) {
		size_t far = env->judge != NULL ? env->judge(env->judge_arg, &t->cand[i]) : 0;
		int64_t n = ((int64_t)t->findings[i] << 32) +
		            (int64_t)(far < 0xffffffffu ? far : 0xffffffffu);
		if (n == 0 && !*clean)
			memcpy(maybe, t->cand[i].page, npage * sizeof *maybe);
		else if (n == 0)
			merge_pages(maybe, &t->cand[i], npage);
		if (n == 0)
			window_join(w, &t->cand[i]);
		*clean = *clean || n == 0;
		if (fewest < 0 || n < fewest) {
			fewest = n;
			best = i;
		}
	}
	return best;
}

int model_group_pick(struct model *m, struct model_tries *t, const struct model_env *env,
                     struct model_out *out, uint8_t *order)
{
	static const struct model_env none;
	struct model_page *maybe = calloc(m->npage ? m->npage : 1, sizeof *maybe);
	bool clean;

	if (maybe == NULL || t->n == 0) {
		free(maybe);
		return -1;
	}
	struct fail_window w = {false, 0, 0};
	size_t best = choose_try(t, env != NULL ? env : &none, maybe, m->npage, &clean, &w);
	memcpy(order, t->order[best], t->k);
	*out = t->out[best];
	model_free(m);
	*m = t->cand[best]; /* the chosen order's copy becomes the model */
	t->cand[best] = t->cand[--t->n];
	if (clean) {
		memcpy(m->page, maybe, m->npage * sizeof *maybe);
		m->armed = w.armed;
		m->fail_lo = w.lo;
		m->fail_hi = w.hi;
	}
	free(maybe);
	model_tries_free(t);
	return 0;
}
