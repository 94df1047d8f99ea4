/* monitor/monitor.c - the monitor's life: create on a descriptor, take the
 * first snapshot, then after each op read a new snapshot, diff it against the
 * shadow, step the model and run every enabled invariant.
 */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

#include "check_ctx.h"
#include "clock.h"
#include "desc.h"
#include "monitor_impl.h"
#include "pte.h"

struct monitor *monitor_create(const struct gmem *mem, gpa_t desc_gpa,
                               const struct monitor_config *cfg, char *err, size_t errlen)
{
	struct monitor *m = calloc(1, sizeof *m);
	if (m == NULL) {
		snprintf(err, errlen, "monitor: out of memory");
		return NULL;
	}
	m->mem = mem;
	if (cfg != NULL)
		m->cfg = *cfg;
	if (m->cfg.max_per_invariant == 0)
		m->cfg.max_per_invariant = 8;
	if (m->cfg.max_violations == 0)
		m->cfg.max_violations = 10000;
	inv_set_all(&m->on, true);
	if (inv_set_parse(&m->on, m->cfg.check_spec, err, errlen) != 0 ||
	    desc_load(m->mem, desc_gpa, &m->desc, err, errlen) != 0) {
		free(m);
		return NULL;
	}
	m->cfg.check_spec = NULL; /* not ours to keep */
	kview_init(&m->kv, &m->desc, m->mem);
	m->max_ptps = m->mem->size / PTS_PAGE_SIZE + 1;
	m->max_pv = (size_t)desc_max_pv(&m->desc, m->mem);
	incr_init(&m->inc);
	snap_init(&m->snap[0]);
	snap_init(&m->snap[1]);
	pte_delta_init(&m->delta);
	if (model_init(&m->model, m->desc.arena_npages, m->desc.kenter_size / PTS_PAGE_SIZE,
	               m->desc.user_max) != 0) {
		snprintf(err, errlen, "monitor: out of memory");
		monitor_destroy(m);
		return NULL;
	}
	return m;
}

void monitor_destroy(struct monitor *m)
{
	if (m == NULL)
		return;
	kview_free(&m->kv);
	incr_free(&m->inc);
	snap_free(&m->snap[0]);
	snap_free(&m->snap[1]);
	pte_delta_free(&m->delta);
	model_free(&m->model);
	model_tries_free(&m->tries);
	free(m->tlb);
	free(m->vio);
	free(m);
}

size_t monitor_nviolations(const struct monitor *m)
{
	return m->nvio;
}

const struct violation *monitor_violation(const struct monitor *m, size_t i)
{
	return i < m->nvio ? &m->vio[i] : NULL;
}

void monitor_clear_violations(struct monitor *m)
{
	m->nvio = 0;
}

int monitor_dump_pmap(const struct monitor *m, int32_t slot, FILE *out)
{
	const struct snapshot *s = &m->snap[m->cur];
	int32_t owner = slot < 0 ? 0 : snap_pmap_by_slot(s, (uint32_t)slot);
	if (owner < 0 || (size_t)owner >= s->npmap)
		return -1;
	walk_dump(&s->walk, (uint32_t)owner, m->desc.pte_wired_bit, m->desc.pte_managed_bit, out);
	return 0;
}

/* ---- reading */

static int read_snapshot(struct monitor *m, const struct snapshot *prev)
{
	struct snapshot *s = &m->snap[m->cur];
	struct snap_params p = {&m->kv, m->max_ptps, m->max_pv, prev};
	incr_invalidate(&m->inc);
	return snap_read(s, &p);
}

static void read_tlb(struct monitor *m)
{
	const struct snapshot *s = &m->snap[m->cur];
	m->ntlb = 0;
	m->tlb_known = s->tlb_ok;
	m->tlb_went_back = m->tlb_wrapped = false;
	if (!s->tlb_ok)
		return;
	if (s->tlb_head < m->tlb_seen) {
		m->tlb_went_back = true;
		m->tlb_known = false;
		m->tlb_seen = s->tlb_head;
		return;
	}
	uint64_t n = s->tlb_head - m->tlb_seen, first = m->tlb_seen;
	if (n > PTS_TLB_RECORDS) {
		m->tlb_wrapped = true;
		m->tlb_known = false;
		m->tlb_seen = s->tlb_head;
		return;
	}
	if (m->tlb_cap < n) {
		struct pts_tlb_record *r = realloc(m->tlb, n * sizeof *r);
		if (r == NULL) {
			m->tlb_known = false;
			return;
		}
		m->tlb = r;
		m->tlb_cap = n;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (smp_tlb_record_read(&m->kv, first + i, &m->tlb[m->ntlb]) != 0) {
			m->tlb_known = false;
			break;
		}
		m->ntlb++;
	}
	m->tlb_first = first;
	m->tlb_seen = s->tlb_head;
}

/* old owner index -> new owner index (same pmap KVA and slot), or UINT32_MAX */
static void map_owners(const struct snapshot *old, const struct snapshot *cur, uint32_t *map)
{
	for (size_t i = 0; i < old->npmap; i++) {
		const struct pmap_snap *o = &old->pmap[i], *n = &cur->pmap[i];
		bool same = i < cur->npmap && o->live && n->live &&
		            (i == 0 || (o->kva == n->kva && o->slot == n->slot));
		map[i] = same ? (uint32_t)i : UINT32_MAX; /* ids stay with their pmap */
	}
}

static int compute_delta(struct monitor *m, const struct snapshot *old, const struct snapshot *cur)
{
	uint32_t map[SNAP_MAX_PMAPS];
	map_owners(old, cur, map);
	if (shadow_diff(&old->walk, &cur->walk, map, &m->delta) != 0)
		return -1;
	for (size_t i = 0; i < m->delta.n; i++) {
		struct pte_change *c = &m->delta.chg[i];
		c->slot = snap_slot(c->flags & PTE_CHG_DETACHED ? old : cur, c->owner);
	}
	return 0;
}

/* ---- the model */

static unsigned missing_ptps(void *ctx, uint32_t slot, uint64_t va)
{
	const struct snapshot *s = ctx;
	int32_t owner = snap_pmap_by_slot(s, slot);
	if (owner < 0)
		return 3;
	for (unsigned level = 3; level >= 1; level--)
		if (ptp_by_key(&s->walk, (uint32_t)owner, level,
		               va & ~(level_span(level + 1) - 1)) == NULL)
			return level;
	return 0;
}

static bool pool_empty(void *ctx)
{
	const struct snapshot *s = ctx;
	return s->pool.ok && s->pool.nitems == 0;
}

/* how far a group's candidate model is from the user mappings of snapshot
 * ctx (the one after the group): leaves it lacks or has otherwise, and the
 * difference in their numbers */
static size_t judge_mappings(void *ctx, const struct model *cand)
{
	const struct monitor *m = ctx;
	const struct snapshot *s = &m->snap[m->cur];
	size_t far = 0, leaves = 0;

	for (size_t i = 0; i < s->walk.nleaf; i++) {
		const struct leaf *l = &s->walk.leaf[i];
		if (l->owner == 0 || l->level != 1 || l->va >= m->desc.user_max)
			continue;
		const struct model_map *e = model_lookup(cand, s->pmap[l->owner].slot, l->va);
		int64_t pg = arena_index_of(&m->desc, pte_frame(l->pte, l->level));
		leaves++;
		far += e == NULL || pg < 0 || e->page != (uint64_t)pg ||
		       e->prot != pte_prot(l->pte) ||
		       e->wired != ((l->pte & m->desc.pte_wired_bit) != 0);
	}
	return far + (leaves > cand->nmap ? leaves - cand->nmap : cand->nmap - leaves);
}

/* what the guest shows at registration is the model's starting point */
static void seed_model(struct monitor *m, const struct snapshot *s)
{
	const struct pts_descriptor *d = &m->desc;
	for (size_t i = 1; i < s->npmap; i++)
		if (s->pmap[i].live && s->pmap[i].slot < PTS_MAX_PMAPS)
			m->model.live[s->pmap[i].slot] = true;
	for (uint64_t pg = 0; pg < d->arena_npages && s->nvmp; pg++) {
		const struct vmp *v = &s->vmp[d->arena_first_pfn - d->vm_page_first_pfn + pg];
		m->model.page[pg] =
		    (struct model_page){v->attrs & PTS_ATTR_MODIFIED ? TRI_YES : TRI_NO,
		                        v->attrs & PTS_ATTR_REFERENCED ? TRI_YES : TRI_NO};
	}
	for (size_t i = 0; i < s->walk.nleaf; i++) {
		const struct leaf *l = &s->walk.leaf[i];
		int64_t pg = arena_index_of(d, pte_frame(l->pte, l->level));
		if (pg < 0)
			continue;
		if (l->owner != 0 && s->nvmp && (l->pte & d->pte_managed_bit)) {
			if (l->pte & PG_M)
				m->model.page[pg].modified = TRI_YES;
			if (l->pte & PG_U)
				m->model.page[pg].referenced = TRI_YES;
		}
		if (l->level != 1)
			continue;
		if (l->owner != 0 && l->va < d->user_max) {
			struct model_map e = {s->pmap[l->owner].slot, l->va, (uint32_t)pg,
			                      (uint8_t)pte_prot(l->pte),
			                      (l->pte & d->pte_wired_bit) ? 1 : 0};
			(void)model_set(&m->model, &e);
		} else if (l->owner == 0 && l->va >= d->kenter_base &&
		           l->va - d->kenter_base < d->kenter_size) {
			m->model.kenter[(l->va - d->kenter_base) / PTS_PAGE_SIZE] =
			    (struct model_kenter){true, (uint32_t)pg, (uint8_t)pte_prot(l->pte)};
		}
	}
}

/* ---- running the checks */

/* in an incremental check, each invariant looks at what the op touched,
 * unless it found something at the last op: then it looks at everything, so
 * a finding that persists is reported again, as in full mode */
static void run_checks(struct monitor *m, const struct pts_op *op, size_t ngroup,
                       const struct pts_op *group, const struct model_out *mout,
                       uint64_t cr3_before, bool incremental)
{
	const struct snapshot *prev = m->begun && !incremental ? &m->snap[!m->cur] : NULL;
	struct check c = {.m = m,
	                  .d = &m->desc,
	                  .cur = &m->snap[m->cur],
	                  .prev = prev,
	                  .prev_pmap = incremental ? m->inc.old_pmap
	                               : prev      ? prev->pmap
	                                           : NULL,
	                  .prev_npmap = incremental ? m->inc.old_npmap
	                                : prev      ? prev->npmap
	                                            : 0,
	                  .prev_nout = incremental ? m->inc.old_nout
	                               : prev      ? prev->pool.nout
	                                           : 0,
	                  .prev_pool_ok = incremental ? m->inc.old_pool_ok : prev && prev->pool.ok,
	                  .inc = incremental ? &m->inc : NULL,
	                  .delta = &m->delta,
	                  .op = op,
	                  .group = group,
	                  .ngroup = ngroup,
	                  .model = &m->model,
	                  .mout = mout,
	                  .tlb = m->tlb,
	                  .ntlb = m->ntlb,
	                  .tlb_known = m->tlb_known,
	                  .cr3_before = cr3_before,
	                  .cr3_after = m->cr3,
	                  .smp = &m->smp,
	                  .smp_prev = &m->smp_prev,
	                  .root_before = m->root_before,
	                  .root_after = m->root_after,
	                  .locks = &m->locks};
	size_t first = m->nvio;
	memset(m->per_inv, 0, sizeof m->per_inv);
	for (size_t i = 0; i < invariant_count(); i++) {
		if (!m->on.on[i])
			continue;
		c.inv = invariant_at(i);
		c.scope = incremental && !m->reported[i] ? &m->inc.sc : NULL;
		check_issues(&c);
		c.inv->fn(&c);
		m->reported[i] = m->per_inv[i] > 0;
	}
	for (size_t i = first; i < m->nvio; i++)
		vio_walks(&m->vio[i], &c);
	free(c.page_mapped);
	free(c.page_writable);
}

static void set_op(struct monitor *m, uint64_t op_index, uint32_t kind, const char *text)
{
	m->op_index = op_index;
	m->op_kind = kind;
	snprintf(m->op_text, sizeof m->op_text, "%s", text ? text : monitor_op_kind_name(kind));
	m->new_vio = 0;
}

/* the global and pv-list lock words, when LOCK-1 is on (else none held) */
static void read_locks(struct monitor *m)
{
	static int lock_1 = -1; /* LOCK-1's place in the (constant) table */

	if (lock_1 < 0)
		lock_1 = invariant_index(invariant_find("LOCK-1"));
	if (lock_1 >= 0 && m->on.on[lock_1]) {
		locks_read(&m->kv, &m->locks);
		return;
	}
	memset(&m->locks, 0, sizeof m->locks);
	m->locks.ok = true;
}

/* the CPUs at registration: how many, each one's root and active pmap */
static void begin_cpus(struct monitor *m, const struct snapshot *s, uint64_t cr3)
{
	smp_read(&m->kv, &m->smp);
	read_locks(m);
	m->smp_prev = m->smp;
	smp_roots_start(&m->smp, m->root_after);
	memcpy(m->root_before, m->root_after, sizeof m->root_before);
	if (!m->smp.known || !m->smp.ok)
		m->root_after[0] = m->root_before[0] = cr3 & PG_FRAME;
	m->model.ncpus = smp_ncpus(&m->smp);
	for (uint32_t c = 0; c < PTS_MAX_CPUS; c++) {
		m->model.active[c] = -1;
		for (size_t i = 1; i < s->npmap && c < m->model.ncpus; i++)
			if (s->pmap[i].live && s->pmap[i].root == m->root_after[c])
				m->model.active[c] = (int32_t)s->pmap[i].slot;
	}
}

/* the CPUs after an op: pts_smp again, and the roots the op's records load */
static void after_op_cpus(struct monitor *m)
{
	m->smp_prev = m->smp;
	smp_read(&m->kv, &m->smp);
	read_locks(m);
	memcpy(m->root_before, m->root_after, sizeof m->root_before);
	if (m->tlb_known)
		smp_roots_advance(m->tlb, m->ntlb, m->root_after);
	else if (m->smp.ok) /* records lost: the CPUs' own word is all there is */
		smp_roots_start(&m->smp, m->root_after);
}

int monitor_begin(struct monitor *m, uint64_t cr3)
{
	uint64_t t0 = now_ns();
	set_op(m, 0, PTS_OP_NONE, "register");
	m->begun = false;
	m->cur = 0;
	if (read_snapshot(m, NULL) != 0)
		return -1;
	const struct snapshot *s = &m->snap[m->cur];
	m->tlb_seen = s->tlb_head;
	read_tlb(m);
	m->cr3 = cr3;
	m->delta.n = 0;
	seed_model(m, s);
	begin_cpus(m, s, cr3);
	run_checks(m, NULL, 0, NULL, NULL, cr3, false);
	m->begun = true;
	m->stats.last_ns = now_ns() - t0;
	return m->new_vio;
}

bool monitor_root_known(const struct monitor *m, uint64_t cr3)
{
	const struct snapshot *s = &m->snap[m->cur];

	for (size_t i = 0; i < s->npmap; i++)
		if (s->pmap[i].live && s->pmap[i].root != 0 && s->pmap[i].root == (cr3 & PG_FRAME))
			return true;
	return false;
}

int monitor_cpus_now(const struct monitor *m, const struct gmem *mem, struct smp_view *v)
{
	struct kview kv;

	memset(v, 0, sizeof(*v));
	if (!m->begun || m->kv.kernel_root == 0)
		return -1;
	kview_init(&kv, &m->desc, mem);
	kv.kernel_root = m->kv.kernel_root; /* the kernel's half: the same in every snapshot */
	smp_read(&kv, v);
	kview_free(&kv);
	return 0;
}

/* the snapshot after the op: updated in place from the written pages, or read afresh */
static int read_after_op(struct monitor *m, bool *incremental)
{
	int rc = *incremental ? incr_update(m) : 1;
	*incremental = rc == 0;
	if (rc <= 0)
		return rc;
	m->cur = !m->cur;
	const struct snapshot *prev = &m->snap[!m->cur];
	if (read_snapshot(m, prev) != 0 || compute_delta(m, prev, &m->snap[m->cur]) != 0)
		return -1;
	return 0;
}

/* in an incremental check the scope starts with what the model changes */
static void scope_from_model(struct monitor *m, struct model_env *env, bool incremental)
{
	if (!incremental)
		return;
	scope_clear(&m->inc.sc);
	env->changed = scope_model_changed;
	env->changed_arg = &m->inc.sc;
}

/* the model steps over one op, before the snapshot after it is read */
static int model_step(struct monitor *m, const struct pts_op *op, bool incremental,
                      struct model_out *mout)
{
	struct model_env env = {.missing_ptps = missing_ptps,
	                        .pool_empty = pool_empty,
	                        .ctx = (void *)&m->snap[m->cur]}; /* the tables before the op */

	scope_from_model(m, &env, incremental);
	return model_apply(&m->model, op, &env, mout);
}

/* a group, before the snapshot after it is read: every order of its ops on
 * copies of the model; what any order changes is in the scope, so it holds
 * what the order picked later changes (docs/smp.md, "Groups") */
static int model_group_try_step(struct monitor *m, const struct pts_op *ops, size_t k,
                                bool incremental)
{
	struct model_env env = {.missing_ptps = missing_ptps,
	                        .ctx = (void *)&m->snap[m->cur]}; /* the tables before it */

	scope_from_model(m, &env, incremental);
	return model_group_try(&m->model, ops, k, &env, &m->tries);
}

/* a group, after the snapshot after it was read: the order whose try the
 * tables explain becomes the model; *op the one the checks take as the op,
 * the last in that order */
static int model_group_step(struct monitor *m, const struct pts_op *ops, size_t k,
                            struct model_out *mout, const struct pts_op **op)
{
	struct model_env env = {.judge = judge_mappings, .judge_arg = m};
	uint8_t order[PTS_GROUP_MAX];

	if (model_group_pick(&m->model, &m->tries, &env, mout, order) != 0)
		return -1;
	*op = &ops[order[k - 1]];
	return 0;
}

/* the model and the snapshot after ops[0..k); *op the op the checks judge */
static int step_and_read(struct monitor *m, const struct pts_op *ops, size_t k, bool *incremental,
                         struct model_out *mout, const struct pts_op **op)
{
	*op = &ops[0];
	if (k == 1)
		return model_step(m, ops, *incremental, mout) != 0 || read_after_op(m, incremental)
		           ? -1
		           : 0;
	if (model_group_try_step(m, ops, k, *incremental) != 0 ||
	    read_after_op(m, incremental) != 0)
		return -1;
	return model_group_step(m, ops, k, mout, op);
}

int monitor_after_ops(struct monitor *m, const struct pts_op *ops, size_t k, uint64_t op_index,
                      const char *op_text, uint64_t cr3)
{
	uint64_t t0 = now_ns();
	const struct pts_op *op;
	if (!m->begun && monitor_begin(m, m->cr3) < 0)
		return -1;
	bool incremental = m->mem->page_dirty != NULL;
	struct model_out mout;
	if (step_and_read(m, ops, k, &incremental, &mout, &op) != 0)
		return -1;
	/* a group is named by its last op, as op_text is */
	set_op(m, op_index, ops[k - 1].kind, op_text);
	read_tlb(m);
	after_op_cpus(m);
	uint64_t cr3_before = m->cr3;
	m->cr3 = cr3;
	run_checks(m, op, k, ops, &mout, cr3_before, incremental);
	uint64_t dt = now_ns() - t0;
	m->stats.ops += k;
	m->stats.incremental += incremental;
	m->stats.last_ns = dt;
	m->stats.total_ns += dt;
	if (dt > m->stats.max_ns)
		m->stats.max_ns = dt;
	m->stats.ptps = m->snap[m->cur].walk.nptp;
	m->stats.pte_changes = m->delta.n;
	return m->new_vio;
}
