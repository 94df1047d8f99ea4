/* monitor/walk_update.c - bring a walk up to date from the tables the guest
 * wrote: re-read the dirty ones, detach the subtrees their changed entries
 * left, read the subtrees they now reach, and emit the PTE delta exactly as
 * shadow_diff would against a fresh walk.
 *
 * Two phases.  The plan reads and checks without touching the set; anything
 * only a fresh walk decides (a table outside RAM or reached twice, the visit
 * limit, an unreadable table) makes it give up with the set intact, and the
 * caller walks afresh.  The commit then cannot fail but for host memory.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "pte.h"
#include "shadow.h"
#include "walk.h"

#define NO_CHILD UINT64_MAX

struct wu_dirty {
	size_t ti;  /* the table in the set */
	size_t ent; /* its new entries at buf[ent] */
};

struct wu_add {
	struct ptp t; /* pte_off unused until commit */
	size_t ent;
};

struct walk_plan {
	struct ptp_set *s;
	const struct walk_params *p;
	struct walk_params params;
	struct walk_root roots[WALK_MAX_ROOTS];
	size_t nroots;
	struct wu_dirty *dirty;
	size_t ndirty, dirty_cap;
	struct wu_add *add;
	size_t nadd, add_cap;
	uint64_t *buf; /* entries, NPTEPG per table */
	size_t nbuf, buf_cap;
	size_t *gone; /* indexes of detached tables */
	size_t ngone, gone_cap;
	struct hmap is_gone; /* table index -> 1 */
	struct hmap adding;  /* table PA -> add index */
	bool anomaly, enomem;
};

/* the table an entry leads the walk to, or NO_CHILD */
static uint64_t child_of(const struct walk_plan *u, uint32_t owner, uint32_t level, unsigned i, uint64_t pte)
{
	if (!pte_valid(pte) || pte_is_leaf(pte, level))
		return NO_CHILD;
	bool kernel = owner < u->nroots && u->roots[owner].kernel;
	if (level == 4 && !kernel && i >= u->p->kernel_slot_first && i <= u->p->kernel_slot_last)
		return NO_CHILD; /* shared kernel slot: walked under the kernel pmap */
	return pte & PG_FRAME;
}

static bool is_leaf(uint64_t pte, uint32_t level)
{
	return pte_valid(pte) && pte_is_leaf(pte, level);
}

static uint64_t entry_va(uint64_t table_va, uint32_t level, unsigned i)
{
	return canonical(table_va + (uint64_t)i * level_span(level));
}

/* room for one more table's entries; its offset in buf, or SIZE_MAX */
static size_t buf_take(struct walk_plan *u)
{
	if (walk_grow((void **)&u->buf, &u->buf_cap, u->nbuf + NPTEPG, sizeof *u->buf) != 0) {
		u->enomem = true;
		return SIZE_MAX;
	}
	u->nbuf += NPTEPG;
	return u->nbuf - NPTEPG;
}

static int read_entries(struct walk_plan *u, gpa_t pa, size_t off)
{
	uint64_t *e = u->buf + off;
	if (gmem_read_aligned(u->p->mem, pa, e, NPTEPG * sizeof *e, 4096) != 0)
		return -1;
	for (unsigned i = 0; i < NPTEPG; i++)
		e[i] = le64toh(e[i]);
	return 0;
}

/* ---- plan */

/* table ti was written: read it, and keep it if an entry changed */
static void read_dirty(struct walk_plan *u, size_t ti)
{
	struct ptp_set *s = u->s;
	size_t off = buf_take(u);
	if (off == SIZE_MAX)
		return;
	if (read_entries(u, s->ptp[ti].pa, off) != 0) {
		u->anomaly = true;
		return;
	}
	if (memcmp(u->buf + off, ptp_entries(s, &s->ptp[ti]), NPTEPG * sizeof *u->buf) == 0) {
		u->nbuf -= NPTEPG;
		return;
	}
	if (walk_grow((void **)&u->dirty, &u->dirty_cap, u->ndirty + 1, sizeof *u->dirty) != 0) {
		u->enomem = true;
		return;
	}
	u->dirty[u->ndirty++] = (struct wu_dirty){ti, off};
}

/* the tables the guest wrote: from the list of written pages, or asking for each table */
static void collect_dirty(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	uint64_t ti;
	for (size_t k = 0; u->p->dirty_listed && k < u->p->ndirty && !u->anomaly && !u->enomem; k++)
		if (hmap_get(&s->by_pa, u->p->dirty_pfn[k] << 12, &ti))
			read_dirty(u, ti);
	for (ti = 0; !u->p->dirty_listed && ti < s->nptp && !u->anomaly && !u->enomem; ti++)
		if (gmem_page_dirty(u->p->mem, s->ptp[ti].pa))
			read_dirty(u, ti);
}

static bool gone(const struct walk_plan *u, size_t ti)
{
	return hmap_get(&u->is_gone, ti, NULL);
}

/* the table at pa, reached from entry index of parent, leaves the walk with its subtree */
static void detach(struct walk_plan *u, gpa_t pa, gpa_t parent, uint32_t index)
{
	uint64_t ti;
	if (!hmap_get(&u->s->by_pa, pa, &ti) || u->s->ptp[ti].parent != parent ||
	    u->s->ptp[ti].parent_index != index) {
		u->anomaly = true; /* the old walk did not follow this entry: no clean state */
		return;
	}
	if (gone(u, ti))
		return;
	if (hmap_put(&u->is_gone, ti, 1) != 0 ||
	    walk_grow((void **)&u->gone, &u->gone_cap, u->ngone + 1, sizeof *u->gone) != 0) {
		u->enomem = true;
		return;
	}
	u->gone[u->ngone++] = ti;
	const struct ptp t = u->s->ptp[ti];
	const uint64_t *e = ptp_entries(u->s, &t);
	for (unsigned i = 0; i < NPTEPG && !u->anomaly && !u->enomem; i++) {
		uint64_t c = child_of(u, t.owner, t.level, i, e[i]);
		if (c != NO_CHILD)
			detach(u, c, t.pa, i);
	}
}

/* the table at pa joins the walk below entry index of parent; read it and its subtree */
static void attach(struct walk_plan *u, const struct ptp *proto)
{
	uint64_t ti;
	if (!gmem_contains(u->p->mem, proto->pa, 4096) || hmap_get(&u->adding, proto->pa, NULL) ||
	    (hmap_get(&u->s->by_pa, proto->pa, &ti) && !gone(u, ti)) ||
	    u->s->nptp - u->ngone + u->nadd >= u->p->max_ptps) {
		u->anomaly = true;
		return;
	}
	size_t off = buf_take(u);
	if (off == SIZE_MAX)
		return;
	if (read_entries(u, proto->pa, off) != 0) {
		u->anomaly = true;
		return;
	}
	if (walk_grow((void **)&u->add, &u->add_cap, u->nadd + 1, sizeof *u->add) != 0 ||
	    hmap_put(&u->adding, proto->pa, u->nadd) != 0) {
		u->enomem = true;
		return;
	}
	u->add[u->nadd++] = (struct wu_add){*proto, off};
	for (unsigned i = 0; i < NPTEPG && !u->anomaly && !u->enomem; i++) {
		uint64_t e = u->buf[off + i]; /* buf moves as the subtree is read */
		uint64_t c = child_of(u, proto->owner, proto->level, i, e);
		if (c == NO_CHILD)
			continue;
		struct ptp child = {c, proto->level - 1, proto->owner, entry_va(proto->va, proto->level, i),
				    proto->pa, i, 0, 0};
		attach(u, &child);
	}
}

/* for each changed entry of a surviving dirty table: fn(old child, new child) */
static void plan_links(struct walk_plan *u, bool detaching)
{
	for (size_t k = 0; k < u->ndirty && !u->anomaly && !u->enomem; k++) {
		const struct ptp t = u->s->ptp[u->dirty[k].ti];
		if (!detaching && gone(u, u->dirty[k].ti))
			continue;
		for (unsigned i = 0; i < NPTEPG && !u->anomaly && !u->enomem; i++) {
			uint64_t o = ptp_entries(u->s, &t)[i], n = u->buf[u->dirty[k].ent + i];
			uint64_t oc = child_of(u, t.owner, t.level, i, o), nc = child_of(u, t.owner, t.level, i, n);
			if (o == n || oc == nc)
				continue;
			if (detaching && oc != NO_CHILD)
				detach(u, oc, t.pa, i);
			if (!detaching && nc != NO_CHILD) {
				struct ptp child = {nc, t.level - 1, t.owner, entry_va(t.va, t.level, i), t.pa, i, 0, 0};
				attach(u, &child);
			}
		}
	}
}

/* pmaps that went leave with their tables; pmaps that came bring theirs */
static void plan_roots(struct walk_plan *u, bool detaching)
{
	struct ptp_set *s = u->s;
	size_t n = u->nroots > s->nroot ? u->nroots : s->nroot;
	for (size_t o = 0; o < n && !u->anomaly && !u->enomem; o++) {
		uint64_t old = o < s->nroot && s->root[o] != SIZE_MAX ? s->ptp[s->root[o]].pa : NO_CHILD;
		uint64_t new = o < u->nroots && !u->roots[o].skip ? u->roots[o].pa : NO_CHILD;
		if (old == new)
			continue;
		if (detaching && old != NO_CHILD)
			detach(u, old, 0, 0);
		if (!detaching && new != NO_CHILD) {
			struct ptp root = {new, 4, (uint32_t)o, 0, 0, 0, 0, 0};
			attach(u, &root);
		}
	}
}

/* ---- commit */

static int push_change(struct pte_delta *d, const struct ptp *t, unsigned i, uint32_t flags, uint64_t o,
		       uint64_t n)
{
	if (walk_grow((void **)&d->chg, &d->cap, d->n + 1, sizeof *d->chg) != 0)
		return -1;
	d->chg[d->n++] = (struct pte_change){t->owner, 0, t->level, entry_va(t->va, t->level, i), t->pa, i,
					     flags, o, n};
	return 0;
}

static int leaf_erase(struct ptp_set *s, uint32_t owner, uint64_t va)
{
	uint64_t i, key = leaf_key(owner, va);
	if (!hmap_get(&s->leaf_by_va, key, &i))
		return 0;
	hmap_del(&s->leaf_by_va, key);
	if (i != s->nleaf - 1) {
		s->leaf[i] = s->leaf[s->nleaf - 1];
		if (hmap_put(&s->leaf_by_va, leaf_key(s->leaf[i].owner, s->leaf[i].va), i) != 0)
			return -1;
	}
	s->nleaf--;
	return 0;
}

static int leaf_insert(struct ptp_set *s, const struct ptp *t, unsigned i, uint64_t pte)
{
	uint64_t va = entry_va(t->va, t->level, i);
	if (walk_grow((void **)&s->leaf, &s->leaf_cap, s->nleaf + 1, sizeof *s->leaf) != 0 ||
	    hmap_put(&s->leaf_by_va, leaf_key(t->owner, va), s->nleaf) != 0)
		return -1;
	s->leaf[s->nleaf++] = (struct leaf){t->owner, t->level, va, pte, t->pa, i};
	return 0;
}

/* entries of table a (old, or NULL) against b (new, or NULL), as shadow_diff does */
static int diff_entries(struct pte_delta *d, const struct ptp *t, const uint64_t *a, const uint64_t *b)
{
	uint32_t flags = a == NULL ? PTE_CHG_ATTACHED : b == NULL ? PTE_CHG_DETACHED : 0;
	for (unsigned i = 0; i < NPTEPG; i++) {
		uint64_t o = a ? a[i] : 0, n = b ? b[i] : 0;
		if (o != n && push_change(d, t, i, flags, o, n) != 0)
			return -1;
	}
	return 0;
}

static int commit_leaves_out(struct walk_plan *u, struct pte_delta *out)
{
	struct ptp_set *s = u->s;
	for (size_t k = 0; k < u->ndirty; k++) {
		const struct ptp t = s->ptp[u->dirty[k].ti];
		const uint64_t *o = ptp_entries(s, &t), *n = u->buf + u->dirty[k].ent;
		if (gone(u, u->dirty[k].ti))
			continue;
		if (diff_entries(out, &t, o, n) != 0)
			return -1;
		for (unsigned i = 0; i < NPTEPG; i++)
			if (o[i] != n[i] && is_leaf(o[i], t.level) && leaf_erase(s, t.owner, entry_va(t.va, t.level, i)))
				return -1;
	}
	for (size_t k = 0; k < u->ngone; k++) {
		const struct ptp t = s->ptp[u->gone[k]];
		for (unsigned i = 0; i < NPTEPG; i++)
			if (is_leaf(ptp_entries(s, &t)[i], t.level) && leaf_erase(s, t.owner, entry_va(t.va, t.level, i)))
				return -1;
	}
	return 0;
}

/* detached and attached tables, paired by (owner, level, va) as shadow_diff pairs them */
static int commit_pairs(struct walk_plan *u, struct pte_delta *out)
{
	struct hmap by_key, paired;
	int rc = 0;
	hmap_init(&by_key);
	hmap_init(&paired);
	for (size_t a = 0; a < u->nadd && rc == 0; a++)
		rc = hmap_put(&by_key, ptp_key(u->add[a].t.owner, u->add[a].t.level, u->add[a].t.va), a);
	for (size_t k = 0; k < u->ngone && rc == 0; k++) {
		const struct ptp *g = &u->s->ptp[u->gone[k]];
		uint64_t a;
		if (hmap_get(&by_key, ptp_key(g->owner, g->level, g->va), &a)) {
			rc = hmap_put(&paired, a, 1) || diff_entries(out, &u->add[a].t, ptp_entries(u->s, g),
								      u->buf + u->add[a].ent);
		} else {
			rc = diff_entries(out, g, ptp_entries(u->s, g), NULL);
		}
	}
	for (size_t a = 0; a < u->nadd && rc == 0; a++)
		if (!hmap_get(&paired, a, NULL))
			rc = diff_entries(out, &u->add[a].t, NULL, u->buf + u->add[a].ent);
	hmap_free(&by_key);
	hmap_free(&paired);
	return rc;
}

static int commit_leaves_in(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	for (size_t k = 0; k < u->ndirty; k++) {
		const struct ptp t = s->ptp[u->dirty[k].ti];
		const uint64_t *o = ptp_entries(s, &t), *n = u->buf + u->dirty[k].ent;
		for (unsigned i = 0; i < NPTEPG && !gone(u, u->dirty[k].ti); i++)
			if (o[i] != n[i] && is_leaf(n[i], t.level) && leaf_insert(s, &t, i, n[i]) != 0)
				return -1;
	}
	for (size_t a = 0; a < u->nadd; a++)
		for (unsigned i = 0; i < NPTEPG; i++)
			if (is_leaf(u->buf[u->add[a].ent + i], u->add[a].t.level) &&
			    leaf_insert(s, &u->add[a].t, i, u->buf[u->add[a].ent + i]) != 0)
				return -1;
	return 0;
}

static uint32_t count_valid(const uint64_t *e)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < NPTEPG; i++)
		n += pte_valid(e[i]);
	return n;
}

static int ptp_erase(struct ptp_set *s, size_t ti)
{
	size_t last = s->nptp - 1;
	struct ptp t = s->ptp[ti];
	hmap_del(&s->by_pa, t.pa);
	hmap_del(&s->by_key, ptp_key(t.owner, t.level, t.va));
	if (t.owner < s->nroot && s->root[t.owner] == ti)
		s->root[t.owner] = SIZE_MAX;
	if (ti != last) {
		struct ptp *m = &s->ptp[ti];
		*m = s->ptp[last];
		memcpy(s->ptes + ti * NPTEPG, s->ptes + m->pte_off, NPTEPG * sizeof *s->ptes);
		m->pte_off = ti * NPTEPG;
		if (hmap_put(&s->by_pa, m->pa, ti) != 0 || hmap_put(&s->by_key, ptp_key(m->owner, m->level, m->va), ti))
			return -1;
		if (m->owner < s->nroot && s->root[m->owner] == last)
			s->root[m->owner] = ti;
	}
	s->nptp--;
	return 0;
}

static int ptp_append(struct ptp_set *s, const struct ptp *t, const uint64_t *e)
{
	size_t ti = s->nptp;
	if (walk_grow((void **)&s->ptp, &s->ptp_cap, ti + 1, sizeof *s->ptp) != 0 ||
	    walk_grow((void **)&s->ptes, &s->ptes_cap, (ti + 1) * NPTEPG, sizeof *s->ptes) != 0 ||
	    hmap_put(&s->by_pa, t->pa, ti) != 0 || hmap_put(&s->by_key, ptp_key(t->owner, t->level, t->va), ti))
		return -1;
	s->ptp[ti] = *t;
	s->ptp[ti].pte_off = ti * NPTEPG;
	s->ptp[ti].nvalid = count_valid(e);
	memcpy(s->ptes + ti * NPTEPG, e, NPTEPG * sizeof *e);
	s->nptp++;
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int commit_tables(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	for (size_t k = 0; k < u->ndirty; k++) {
		struct ptp *t = &s->ptp[u->dirty[k].ti];
		if (gone(u, u->dirty[k].ti))
			continue;
		memcpy(s->ptes + t->pte_off, u->buf + u->dirty[k].ent, NPTEPG * sizeof *s->ptes);
		t->nvalid = count_valid(s->ptes + t->pte_off);
	}
	qsort(u->gone, u->ngone, sizeof *u->gone, cmp_desc); /* later indexes first: swaps stay valid */
	for (size_t k = 0; k < u->ngone; k++)
		if (ptp_erase(s, u->gone[k]) != 0)
			return -1;
	for (size_t a = 0; a < u->nadd; a++)
		if (ptp_append(s, &u->add[a].t, u->buf + u->add[a].ent) != 0)
			return -1;
	return 0;
}

/* every owner id has its root's index, or SIZE_MAX */
static int commit_roots(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	if (walk_grow((void **)&s->root, &s->root_cap, u->nroots + 1, sizeof *s->root) != 0)
		return -1;
	for (size_t o = s->nroot; o < u->nroots; o++)
		s->root[o] = SIZE_MAX;
	s->nroot = u->nroots;
	for (size_t o = 0; o < s->nroot; o++) {
		uint64_t ti;
		if (u->roots[o].skip || !hmap_get(&s->by_pa, u->roots[o].pa, &ti) || s->ptp[ti].parent != 0)
			s->root[o] = SIZE_MAX;
		else
			s->root[o] = ti;
	}
	return 0;
}

static int note_kernel_ranges(struct walk_plan *u, struct va_ranges *kr)
{
	for (size_t k = 0; k < u->ndirty; k++) {
		const struct ptp t = u->s->ptp[u->dirty[k].ti];
		const uint64_t *o = ptp_entries(u->s, &t), *n = u->buf + u->dirty[k].ent;
		for (unsigned i = 0; i < NPTEPG && t.owner == 0; i++) {
			if (o[i] == n[i])
				continue;
			if (walk_grow((void **)&kr->r, &kr->cap, kr->n + 1, sizeof *kr->r) != 0)
				return -1;
			uint64_t va = entry_va(t.va, t.level, i);
			kr->r[kr->n++] = (struct va_range){va, va + (level_span(t.level) - 1)};
		}
	}
	return 0;
}

struct walk_plan *walk_plan_new(void)
{
	struct walk_plan *u = calloc(1, sizeof *u);
	if (u != NULL) {
		hmap_init(&u->is_gone);
		hmap_init(&u->adding);
	}
	return u;
}

void walk_plan_free(struct walk_plan *u)
{
	if (u == NULL)
		return;
	free(u->dirty);
	free(u->add);
	free(u->buf);
	free(u->gone);
	hmap_free(&u->is_gone);
	hmap_free(&u->adding);
	free(u);
}

static void plan_reset(struct walk_plan *u)
{
	u->ndirty = u->nadd = u->nbuf = u->ngone = 0;
	u->anomaly = u->enomem = false;
	if (u->is_gone.len > 0)
		hmap_free(&u->is_gone);
	if (u->adding.len > 0)
		hmap_free(&u->adding);
}

int walk_plan(struct walk_plan *u, struct ptp_set *s, const struct walk_params *p, const struct walk_root *roots,
	      size_t nroots, struct va_ranges *kernel_ranges, bool *fallback)
{
	plan_reset(u);
	u->s = s;
	u->params = *p;
	u->p = &u->params;
	*fallback = s->nissue != 0 || nroots > WALK_MAX_ROOTS;
	if (*fallback)
		return 0;
	memcpy(u->roots, roots, nroots * sizeof *roots);
	u->nroots = nroots;
	collect_dirty(u);
	plan_roots(u, true);
	plan_links(u, true);
	plan_roots(u, false);
	plan_links(u, false);
	*fallback = u->anomaly;
	if (u->enomem)
		return -1;
	return *fallback ? 0 : note_kernel_ranges(u, kernel_ranges);
}

int walk_commit(struct walk_plan *u, struct pte_delta *out)
{
	if (commit_leaves_out(u, out) != 0 || commit_pairs(u, out) != 0 || commit_leaves_in(u) != 0 ||
	    commit_tables(u) != 0 || commit_roots(u) != 0)
		return -1;
	return 0;
}
