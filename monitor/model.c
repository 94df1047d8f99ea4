/* monitor/model.c - the reference model driven by op semantics.  Mappings are
 * an array per pmap slot sorted by va (an enter moves only that pmap's
 * mappings); per-page modified/referenced state is a tri-state prediction
 * that a query result may collapse.  Each write to a mapping, a prediction
 * or a kenter page is told to env->changed first: that is how the
 * incremental check learns what an op changed, whatever its kind.
 */
#include "array.h"
#include "model.h"

#include "bug.h"
#include "pte.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096ull

int model_init(struct model *m, size_t npages, size_t nkenter, uint64_t user_max)
{
	memset(m, 0, sizeof *m);
	m->page = calloc(npages ? npages : 1, sizeof *m->page);
	m->kenter = calloc(nkenter ? nkenter : 1, sizeof *m->kenter);
	m->npage = npages;
	m->nkenter = nkenter;
	m->user_max = user_max;
	m->ncpus = 1;
	for (uint32_t c = 0; c < PTS_MAX_CPUS; c++)
		m->active[c] = -1;
	if (m->page == NULL || m->kenter == NULL) {
		model_free(m);
		return -1;
	}
	return 0;
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < PTS_MAX_PMAPS; i++)
		free(m->slot[i].map);
	free(m->page);
	free(m->kenter);
	memset(m, 0, sizeof *m);
}

/* tell env->changed (during model_apply) */
static void changed(struct model *m, enum model_change what, uint32_t slot, uint64_t x)
{
	const struct model_env *env = m->env;
	if (env != NULL && env->changed != NULL &&
	    env->changed(env->changed_arg, what, slot, x) != 0)
		m->changes_lost = true;
}

/* the prediction of arena page `page`, to be changed */
static struct model_page *page_to_change(struct model *m, uint64_t page)
{
	changed(m, MODEL_PAGE, 0, page);
	return &m->page[page];
}

/* first index of slot's array whose va is >= va */
static size_t lower_bound(const struct model *m, uint32_t slot, uint64_t va)
{
	const struct model_maps *ms = &m->slot[slot];
	size_t lo = 0, hi = ms->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ms->map[mid].va < va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t model_first(const struct model *m, uint32_t slot, uint64_t va)
{
	return slot < PTS_MAX_PMAPS ? lower_bound(m, slot, va) : 0;
}

const struct model_map *model_maps(const struct model *m, uint32_t slot, size_t *n)
{
	*n = slot < PTS_MAX_PMAPS ? m->slot[slot].n : 0;
	return slot < PTS_MAX_PMAPS ? m->slot[slot].map : NULL;
}

const struct model_map *model_lookup(const struct model *m, uint32_t slot, uint64_t va)
{
	if (slot >= PTS_MAX_PMAPS)
		return NULL;
	size_t i = lower_bound(m, slot, va);
	return i < m->slot[slot].n && m->slot[slot].map[i].va == va ? &m->slot[slot].map[i] : NULL;
}

int model_set(struct model *m, const struct model_map *e)
{
	if (e->slot >= PTS_MAX_PMAPS)
		return 0;
	changed(m, MODEL_MAPPING, e->slot, e->va);
	struct model_maps *ms = &m->slot[e->slot];
	size_t i = lower_bound(m, e->slot, e->va);
	if (i < ms->n && ms->map[i].va == e->va) {
		ms->map[i] = *e;
		return 0;
	}
	if (ARRAY_GROW(ms->map, ms->cap, ms->n, 64) != 0)
		return -1;
	memmove(&ms->map[i + 1], &ms->map[i], (ms->n - i) * sizeof *ms->map);
	ms->map[i] = *e;
	ms->n++;
	m->nmap++;
	return 0;
}

/* remove every mapping of slot in [va, end) */
static void remove_range(struct model *m, uint32_t slot, uint64_t va, uint64_t end)
{
	struct model_maps *ms = &m->slot[slot];
	size_t i = lower_bound(m, slot, va), j = i;
	while (j < ms->n && ms->map[j].va < end)
		changed(m, MODEL_MAPPING, slot, ms->map[j++].va);
	if (j == i)
		return;
	memmove(&ms->map[i], &ms->map[j], (ms->n - j) * sizeof *ms->map);
	ms->n -= j - i;
	m->nmap -= j - i;
}

enum tri model_modified(const struct model *m, uint32_t page)
{
	return page < m->npage ? (enum tri)m->page[page].modified : TRI_MAYBE;
}

enum tri model_referenced(const struct model *m, uint32_t page)
{
	return page < m->npage ? (enum tri)m->page[page].referenced : TRI_MAYBE;
}

const char *result_name(uint32_t result)
{
	const char *name = pts_result_name(result);

	return name != NULL ? name : "bad-result";
}

static void finding(struct model_out *out, const char *inv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finding(struct model_out *out, const char *inv, const char *fmt, ...)
{
	if (out->n == MODEL_MAX_FINDINGS)
		return;
	struct model_finding *f = &out->f[out->n++];
	va_list ap;
	f->inv = inv;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
}

/* ---- validity of an op record */

static bool user_va_ok(const struct model *m, uint64_t va)
{
	return va % PAGE == 0 && va < m->user_max;
}

static bool range_ok(const struct model *m, const struct pts_op *op, uint64_t *end)
{
	*end = op->end ? op->end : op->va + PAGE;
	return user_va_ok(m, op->va) && *end % PAGE == 0 && *end > op->va && *end <= m->user_max;
}

static bool slot_live(const struct model *m, const struct pts_op *op)
{
	return op->pmap < PTS_MAX_PMAPS && m->live[op->pmap];
}

static bool prot_ok(uint32_t prot)
{
	return (prot & PTS_PROT_READ) && (prot & ~7u) == 0;
}

static bool kenter_range_ok(const struct model *m, const struct pts_op *op, uint64_t *end)
{
	*end = op->end ? op->end : op->va + PAGE;
	return op->va % PAGE == 0 && *end % PAGE == 0 && *end > op->va && *end / PAGE <= m->nkenter;
}

static bool op_valid(const struct model *m, const struct pts_op *op)
{
	uint64_t end;
	/* not an op kind (PTS_OP_NONE, or past the table): the guest refuses it */
	if (pts_op_name(op->kind) == NULL)
		return false;
	/* a CPU that is not up: the guest refuses the record */
	if (op->cpu >= m->ncpus)
		return false;
	switch (op->kind) {
	case PTS_OP_CREATE:
		return op->pmap < PTS_MAX_PMAPS && !m->live[op->pmap];
	case PTS_OP_DESTROY:
	case PTS_OP_ACTIVATE:
	case PTS_OP_COLLECT:
		return slot_live(m, op);
	case PTS_OP_ENTER:
		return slot_live(m, op) && user_va_ok(m, op->va) && op->page < m->npage &&
		       prot_ok(op->prot);
	case PTS_OP_REMOVE:
		return slot_live(m, op) && range_ok(m, op, &end);
	case PTS_OP_PROTECT:
		return slot_live(m, op) && range_ok(m, op, &end) && prot_ok(op->prot);
	case PTS_OP_UNWIRE:
	case PTS_OP_EXTRACT:
	case PTS_OP_TOUCH:
		return slot_live(m, op) && user_va_ok(m, op->va);
	case PTS_OP_PAGE_PROTECT:
		return op->page < m->npage && (op->prot == 0 || op->prot == PTS_PROT_READ ||
		                               op->prot == (PTS_PROT_READ | PTS_PROT_EXEC));
	case PTS_OP_CLEAR_MODIFY:
	case PTS_OP_CLEAR_REFERENCE:
	case PTS_OP_IS_MODIFIED:
	case PTS_OP_IS_REFERENCED:
	case PTS_OP_ZERO:
		return op->page < m->npage;
	case PTS_OP_COPY:
		return op->page < m->npage && op->page2 < m->npage;
	case PTS_OP_KENTER:
		return op->va % PAGE == 0 && op->va / PAGE < m->nkenter && op->page < m->npage &&
		       prot_ok(op->prot);
	case PTS_OP_KREMOVE:
		return kenter_range_ok(m, op, &end);
	case PTS_OP_FAIL_ALLOC:
		return op->value >= 1;
	default:
		PTS_BUG("op kind %s has no validity rule in the model (monitor/model.c)",
		        pts_op_name(op->kind));
	}
}

/* ---- fault injection: which counted allocation fails */

static void enter_allocs(const struct model *m, const struct pts_op *op,
                         const struct model_env *env, unsigned *lo, unsigned *hi)
{
	const struct model_map *old = model_lookup(m, op->pmap, op->va);
	unsigned ptps =
	    env && env->missing_ptps ? env->missing_ptps(env->ctx, op->pmap, op->va) : 0;
	/* a pv entry counts once, twice when the pool must add a page for it */
	unsigned pv = env && env->pool_empty && env->pool_empty(env->ctx) ? 2u : 1u;
	*lo = ptps + (old == NULL ? pv : 0u);
	*hi = ptps + (old == NULL || old->page != op->page ? pv : 0u);
}

/* false if the result contradicts fault injection; updates the window */
static void check_canfail(struct model *m, const struct pts_op *op, const struct model_env *env,
                          struct model_out *out)
{
	unsigned lo, hi;
	bool counted = op->kind == PTS_OP_ENTER && (op->flags & PTS_OPF_CANFAIL);
	if (op->result == PTS_RES_ENOMEM) {
		if (!counted || !m->armed)
			finding(out, "MODEL-5", "enomem without an armed `fail alloc` on a %s call",
			        counted ? "canfail" : "non-canfail");
		else if (enter_allocs(m, op, env, &lo, &hi), m->fail_lo > hi)
			finding(out, "MODEL-5",
			        "enomem, but the failing allocation is #%llu from now and this "
			        "enter makes "
			        "at most %u",
			        (unsigned long long)m->fail_lo, hi);
		m->armed = false;
		out->unchanged = true;
		return;
	}
	if (!counted || !m->armed)
		return;
	enter_allocs(m, op, env, &lo, &hi);
	if (m->fail_hi <= lo)
		finding(out, "MODEL-5",
		        "enter succeeded though allocation #%llu was armed to fail and it needs %u",
		        (unsigned long long)m->fail_hi, lo);
	m->fail_lo = m->fail_lo > hi ? m->fail_lo - hi : 1;
	m->fail_hi = m->fail_hi > lo ? m->fail_hi - lo : 0;
	if (m->fail_hi == 0)
		m->armed = false;
}

/* ---- op effects */

static void do_enter(struct model *m, const struct pts_op *op)
{
	struct model_map e = {op->pmap, op->va, (uint32_t)op->page, (uint8_t)op->prot,
	                      (op->flags & PTS_OPF_WIRED) ? 1 : 0};
	(void)model_set(m, &e); /* out of host memory: the comparison will say so */
}

static void do_protect(struct model *m, uint32_t slot, uint64_t va, uint64_t end, uint32_t prot)
{
	struct model_maps *ms = &m->slot[slot];
	for (size_t i = lower_bound(m, slot, va); i < ms->n && ms->map[i].va < end; i++) {
		changed(m, MODEL_MAPPING, slot, ms->map[i].va);
		ms->map[i].prot &= (uint8_t)prot;
	}
}

static void do_page_protect(struct model *m, uint32_t page, uint32_t prot)
{
	for (size_t s = 0; s < PTS_MAX_PMAPS; s++) {
		struct model_maps *ms = &m->slot[s];
		size_t j = 0;
		for (size_t i = 0; i < ms->n; i++) {
			if (ms->map[i].page == page) {
				changed(m, MODEL_MAPPING, (uint32_t)s, ms->map[i].va);
				if (prot == 0)
					continue;
				ms->map[i].prot &= (uint8_t)prot;
			}
			ms->map[j++] = ms->map[i];
		}
		m->nmap -= ms->n - j;
		ms->n = j;
	}
}

static void do_touch(struct model *m, const struct pts_op *op, struct model_out *out)
{
	const struct model_map *e = model_lookup(m, op->pmap, op->va);
	bool write = (op->flags & PTS_OPF_WRITE) != 0;
	bool ok = e != NULL && (!write || (e->prot & PTS_PROT_WRITE));
	char on[16] = ""; /* the CPU, when not CPU 0 */
	m->active[op->cpu] = (int32_t)op->pmap;
	if (op->cpu != 0)
		snprintf(on, sizeof on, "cpu%u: ", (unsigned)op->cpu);
	if (op->result != (ok ? PTS_RES_OK : PTS_RES_FAULT))
		finding(out, "TLB-4", "%stouch %s at 0x%llx: model says %s (%s), guest says %s", on,
		        write ? "w" : "r", (unsigned long long)op->va,
		        result_name(ok ? PTS_RES_OK : PTS_RES_FAULT),
		        e ? prot_name(e->prot) : "unmapped", result_name(op->result));
	if (e == NULL)
		return;
	struct model_page *pg = page_to_change(m, e->page);
	if (op->result == PTS_RES_OK) {
		pg->referenced = TRI_YES;
		if (write)
			pg->modified = TRI_YES;
	} else if (pg->referenced == TRI_NO) {
		pg->referenced = TRI_MAYBE;
	}
}

static void query(uint8_t *state, uint32_t result, const char *what, uint64_t page,
                  struct model_out *out)
{
	bool yes = result == PTS_RES_TRUE;
	if (result != PTS_RES_TRUE && result != PTS_RES_FALSE) {
		finding(out, "MODEL-2", "%s pg%llu: result %s, want true or false", what,
		        (unsigned long long)page, result_name(result));
		return;
	}
	if (*state != TRI_MAYBE && (*state == TRI_YES) != yes)
		finding(out, "MODEL-2", "%s pg%llu: model says %s, guest says %s", what,
		        (unsigned long long)page,
		        result_name(*state == TRI_YES ? PTS_RES_TRUE : PTS_RES_FALSE),
		        result_name(result));
	*state = yes ? TRI_YES : TRI_NO;
}

static void do_extract(const struct model *m, const struct pts_op *op, struct model_out *out)
{
	const struct model_map *e = model_lookup(m, op->pmap, op->va);
	char got[32];
	if (op->result == PTS_RES_PAGE)
		snprintf(got, sizeof got, "%s%llu", result_name(op->result),
		         (unsigned long long)op->value);
	else
		snprintf(got, sizeof got, "%s", result_name(op->result));
	if (e == NULL && op->result != PTS_RES_NONE)
		finding(out, "MODEL-2", "extract 0x%llx: model says %s, guest says %s",
		        (unsigned long long)op->va, result_name(PTS_RES_NONE), got);
	if (e != NULL && (op->result != PTS_RES_PAGE || op->value != e->page))
		finding(out, "MODEL-2", "extract 0x%llx: model says pg%u, guest says %s",
		        (unsigned long long)op->va, e->page, got);
}

static void apply_valid(struct model *m, const struct pts_op *op, struct model_out *out)
{
	uint64_t end = op->end ? op->end : op->va + PAGE;
	switch (op->kind) {
	case PTS_OP_CREATE:
		m->live[op->pmap] = true;
		break;
	case PTS_OP_DESTROY:
		remove_range(m, op->pmap, 0, UINT64_MAX);
		m->live[op->pmap] = false;
		for (uint32_t c = 0; c < PTS_MAX_CPUS; c++) /* every CPU leaves it first */
			if (m->active[c] == (int32_t)op->pmap)
				m->active[c] = -1;
		break;
	case PTS_OP_ACTIVATE:
		m->active[op->cpu] = (int32_t)op->pmap;
		break;
	case PTS_OP_ENTER:
		do_enter(m, op);
		break;
	case PTS_OP_REMOVE:
		remove_range(m, op->pmap, op->va, end);
		break;
	case PTS_OP_PROTECT:
		do_protect(m, op->pmap, op->va, end, op->prot);
		break;
	case PTS_OP_UNWIRE:
		for (size_t i = lower_bound(m, op->pmap, op->va);
		     i < m->slot[op->pmap].n && m->slot[op->pmap].map[i].va == op->va; i++) {
			changed(m, MODEL_MAPPING, op->pmap, op->va);
			m->slot[op->pmap].map[i].wired = 0;
		}
		break;
	case PTS_OP_EXTRACT:
		do_extract(m, op, out);
		break;
	case PTS_OP_PAGE_PROTECT:
		do_page_protect(m, (uint32_t)op->page, op->prot);
		break;
	case PTS_OP_CLEAR_MODIFY:
		page_to_change(m, op->page)->modified = TRI_NO;
		break;
	case PTS_OP_CLEAR_REFERENCE:
		page_to_change(m, op->page)->referenced = TRI_NO;
		break;
	case PTS_OP_IS_MODIFIED:
		query(&page_to_change(m, op->page)->modified, op->result, pts_op_name(op->kind),
		      op->page, out);
		break;
	case PTS_OP_IS_REFERENCED:
		query(&page_to_change(m, op->page)->referenced, op->result, pts_op_name(op->kind),
		      op->page, out);
		break;
	case PTS_OP_TOUCH:
		do_touch(m, op, out);
		break;
	case PTS_OP_KENTER:
		changed(m, MODEL_KENTER, 0, op->va / PAGE);
		m->kenter[op->va / PAGE] =
		    (struct model_kenter){true, (uint32_t)op->page, (uint8_t)op->prot};
		break;
	case PTS_OP_KREMOVE:
		for (uint64_t k = op->va / PAGE; k < end / PAGE; k++) {
			changed(m, MODEL_KENTER, 0, k);
			m->kenter[k].on = false;
		}
		break;
	case PTS_OP_COLLECT:
		remove_range(m, op->pmap, 0, UINT64_MAX);
		break;
	case PTS_OP_FAIL_ALLOC:
		m->armed = true;
		m->fail_lo = m->fail_hi = op->value;
		break;
	case PTS_OP_ZERO:
	case PTS_OP_COPY:
		break; /* mappings and predictions stay; MODEL-4 reads the pages */
	default:
		PTS_BUG("op kind %s has no effect in the model (monitor/model.c)",
		        pts_op_name(op->kind));
	}
}

/* the one result an op may give once check_canfail has judged enomem, or
 * PTS_RES_COUNT for a query, whose result its own check judges */
static uint32_t plain_result(uint32_t kind)
{
	uint32_t results = pts_op_results(kind) & ~PTS_RES_BIT(ENOMEM);
	if (results == 0 || (results & (results - 1)) != 0)
		return PTS_RES_COUNT;
	return (uint32_t)__builtin_ctz(results);
}

static void apply(struct model *m, const struct pts_op *op, const struct model_env *env,
                  struct model_out *out)
{
	memset(out, 0, sizeof *out);
	out->valid = op_valid(m, op);
	if (!out->valid) {
		out->unchanged = true;
		if (op->result != PTS_RES_EINVAL)
			finding(out, "MODEL-2", "invalid op record: result %s, want einval",
			        result_name(op->result));
		return;
	}
	if (op->result == PTS_RES_EINVAL || op->result == PTS_RES_PENDING) {
		finding(out, "MODEL-2", "valid op: result %s", result_name(op->result));
		out->unchanged = true;
		return;
	}
	check_canfail(m, op, env, out);
	if (out->unchanged)
		return;
	uint32_t want = plain_result(op->kind);
	if (want != PTS_RES_COUNT && op->result != want)
		finding(out, "MODEL-2", "result %s, want %s", result_name(op->result),
		        result_name(want));
	apply_valid(m, op, out);
}

int model_apply(struct model *m, const struct pts_op *op, const struct model_env *env,
                struct model_out *out)
{
	m->env = env;
	m->changes_lost = false;
	apply(m, op, env, out);
	m->env = NULL;
	return m->changes_lost ? -1 : 0;
}
