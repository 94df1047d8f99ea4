/* monitor/walk.c - walk every pmap's page-table tree through the checked
 * accessor.  Each table is read once (by PA); a table reached again is a
 * shared table or a cycle and is reported, not followed, so the walk is
 * bounded by the number of pages of guest RAM.
 */
#include "array.h"
#include "walk.h"

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pte.h"

void ptp_set_init(struct ptp_set *s)
{
	memset(s, 0, sizeof *s);
	hmap_init(&s->by_pa);
	hmap_init(&s->by_key);
	hmap_init(&s->leaf_by_va);
}

void ptp_set_free(struct ptp_set *s)
{
	free(s->ptp);
	free(s->ptes);
	free(s->leaf);
	free(s->issue);
	free(s->root);
	hmap_free(&s->by_pa);
	hmap_free(&s->by_key);
	hmap_free(&s->leaf_by_va);
	ptp_set_init(s);
}

static void ptp_set_reset(struct ptp_set *s)
{
	s->nptp = s->nleaf = s->nissue = s->nroot = 0;
	hmap_clear(&s->by_pa);
	hmap_clear(&s->by_key);
	hmap_clear(&s->leaf_by_va);
}

uint64_t ptp_key(uint32_t owner, uint32_t level, uint64_t va)
{
	return va | ((uint64_t)owner << 3) | level;
}

uint64_t leaf_key(uint32_t owner, uint64_t va)
{
	return va | owner;
}

const struct ptp *ptp_by_pa(const struct ptp_set *s, gpa_t pa)
{
	uint64_t i;
	return hmap_get(&s->by_pa, pa, &i) ? &s->ptp[i] : NULL;
}

const struct ptp *ptp_by_key(const struct ptp_set *s, uint32_t owner, uint32_t level, uint64_t va)
{
	uint64_t i;
	return hmap_get(&s->by_key, ptp_key(owner, level, va), &i) ? &s->ptp[i] : NULL;
}

const struct leaf *leaf_at(const struct ptp_set *s, uint32_t owner, uint64_t va)
{
	for (unsigned level = 1; level <= 3; level++) {
		uint64_t i, start = va & ~(level_span(level) - 1);
		if (hmap_get(&s->leaf_by_va, leaf_key(owner, start), &i) &&
		    s->leaf[i].level == level)
			return &s->leaf[i];
	}
	return NULL;
}

static int add_issue(struct ptp_set *s, enum walk_issue_kind kind, uint32_t owner, uint32_t other,
                     uint32_t level, uint64_t va, gpa_t pa, uint64_t pte)
{
	if (array_reserve(&s->issue, &s->issue_cap, s->nissue + 1, sizeof *s->issue, 64) != 0)
		return -1;
	s->issue[s->nissue++] = (struct walk_issue){kind, owner, other, level, va, pa, pte};
	return 0;
}

/* copy the table at pa into the set, from the shadow when the page is clean */
static int read_table(const struct walk_params *p, gpa_t pa, uint64_t *dst)
{
	const struct ptp *old = p->shadow ? ptp_by_pa(p->shadow, pa) : NULL;
	if (old != NULL && !gmem_page_dirty(p->mem, pa)) {
		memcpy(dst, ptp_entries(p->shadow, old), NPTEPG * sizeof *dst);
		return 0;
	}
	if (gmem_read_aligned(p->mem, pa, dst, NPTEPG * sizeof *dst, 4096) != 0)
		return -1;
	for (unsigned i = 0; i < NPTEPG; i++)
		dst[i] = le64toh(dst[i]);
	return 0;
}

static int add_leaf(struct ptp_set *s, const struct ptp *t, unsigned i, uint64_t va, uint64_t pte)
{
	if (array_reserve(&s->leaf, &s->leaf_cap, s->nleaf + 1, sizeof *s->leaf, 64) != 0)
		return -1;
	s->leaf[s->nleaf] = (struct leaf){t->owner, t->level, va, pte, t->pa, i};
	if (hmap_put(&s->leaf_by_va, leaf_key(t->owner, va), s->nleaf) != 0)
		return -1;
	s->nleaf++;
	return 0;
}

struct walker {
	struct ptp_set *s;
	const struct walk_params *p;
	bool kernel;
};

static int visit(struct walker *w, gpa_t pa, uint32_t level, uint32_t owner, uint64_t va,
                 gpa_t parent, uint32_t parent_index);

static int visit_entry(struct walker *w, size_t ti, unsigned i)
{
	struct ptp_set *s = w->s;
	struct ptp t = s->ptp[ti];
	uint64_t pte = s->ptes[t.pte_off + i];
	uint64_t va = canonical(t.va + (uint64_t)i * level_span(t.level));
	if (!pte_valid(pte))
		return 0;
	s->ptp[ti].nvalid++;
	if (t.level == 4 && !w->kernel && i >= w->p->kernel_slot_first &&
	    i <= w->p->kernel_slot_last)
		return 0; /* shared kernel slot: walked under the kernel pmap */
	if (pte_is_leaf(pte, t.level))
		return add_leaf(s, &t, i, va, pte);
	gpa_t child = pte & PG_FRAME;
	uint64_t seen;
	if (!gmem_contains(w->p->mem, child, 4096))
		return add_issue(s, WALK_OUTSIDE_RAM, t.owner, t.owner, t.level, va, child, pte);
	if (hmap_get(&s->by_pa, child, &seen))
		return add_issue(s, s->ptp[seen].owner == t.owner ? WALK_TWO_PARENTS : WALK_SHARED,
		                 t.owner, s->ptp[seen].owner, t.level, va, child, pte);
	return visit(w, child, t.level - 1, t.owner, va, t.pa, i);
}

static int visit(struct walker *w, gpa_t pa, uint32_t level, uint32_t owner, uint64_t va,
                 gpa_t parent, uint32_t parent_index)
{
	struct ptp_set *s = w->s;
	if (s->nptp >= w->p->max_ptps)
		return add_issue(s, WALK_LIMIT, owner, owner, level, va, pa, 0);
	if (array_reserve(&s->ptp, &s->ptp_cap, s->nptp + 1, sizeof *s->ptp, 64) != 0 ||
	    array_reserve(&s->ptes, &s->ptes_cap, (s->nptp + 1) * NPTEPG, sizeof *s->ptes, 64) != 0)
		return -1;
	size_t ti = s->nptp;
	struct ptp *t = &s->ptp[ti];
	*t = (struct ptp){pa, level, owner, va, parent, parent_index, 0, ti * NPTEPG};
	if (read_table(w->p, pa, s->ptes + t->pte_off) != 0)
		return add_issue(s, WALK_UNREADABLE, owner, owner, level, va, pa, 0);
	s->nptp++;
	if (hmap_put(&s->by_pa, pa, ti) != 0 ||
	    hmap_put(&s->by_key, ptp_key(owner, level, va), ti) != 0)
		return -1;
	for (unsigned i = 0; i < NPTEPG; i++)
		if (visit_entry(w, ti, i) != 0)
			return -1;
	return 0;
}

int walk_all(struct ptp_set *s, const struct walk_params *p, const struct walk_root *roots,
             size_t nroots)
{
	ptp_set_reset(s);
	if (array_reserve(&s->root, &s->root_cap, nroots + 1, sizeof *s->root, 64) != 0)
		return -1;
	s->nroot = nroots;
	for (size_t o = 0; o < nroots; o++) {
		struct walker w = {s, p, roots[o].kernel};
		uint64_t seen;
		s->root[o] = SIZE_MAX;
		if (roots[o].skip)
			continue;
		if (!gmem_contains(p->mem, roots[o].pa, 4096) || roots[o].pa % 4096) {
			if (add_issue(s, WALK_UNREADABLE, (uint32_t)o, (uint32_t)o, 4, 0,
			              roots[o].pa, 0))
				return -1;
			continue;
		}
		if (hmap_get(&s->by_pa, roots[o].pa, &seen)) {
			if (add_issue(s, WALK_SHARED, (uint32_t)o, s->ptp[seen].owner, 4, 0,
			              roots[o].pa, 0))
				return -1;
			continue;
		}
		s->root[o] = s->nptp;
		if (visit(&w, roots[o].pa, 4, (uint32_t)o, 0, 0, 0) != 0)
			return -1;
		if (s->root[o] >= s->nptp || s->ptp[s->root[o]].pa != roots[o].pa)
			s->root[o] = SIZE_MAX;
	}
	return 0;
}

/* ---- dump, like QEMU's `info tlb` */

struct run {
	uint64_t va, end, pa;
	uint64_t flags;
	unsigned level;
	bool open;
};

static void run_print(const struct run *r, uint64_t wired_bit, uint64_t managed_bit, FILE *out)
{
	char flags[128];
	if (!r->open)
		return;
	pte_flags(r->flags, r->level, wired_bit, managed_bit, flags, sizeof flags);
	fprintf(out, "%016llx-%016llx %016llx %s%s\n", (unsigned long long)r->va,
	        (unsigned long long)r->end, (unsigned long long)r->pa, flags,
	        r->level > 1 ? (r->level == 2 ? " (2M)" : " (1G)") : "");
}

static int cmp_leaf_va(const void *a, const void *b)
{
	const struct leaf *x = *(const struct leaf *const *)a, *y = *(const struct leaf *const *)b;
	return x->va < y->va ? -1 : x->va > y->va;
}

/* owner's leaves in VA order (an updated walk keeps them unordered) */
static const struct leaf **sorted_leaves(const struct ptp_set *s, uint32_t owner, size_t *n)
{
	const struct leaf **v = malloc((s->nleaf ? s->nleaf : 1) * sizeof *v);
	*n = 0;
	for (size_t i = 0; v != NULL && i < s->nleaf; i++)
		if (s->leaf[i].owner == owner)
			v[(*n)++] = &s->leaf[i];
	if (v != NULL)
		qsort(v, *n, sizeof *v, cmp_leaf_va);
	return v;
}

void walk_dump(const struct ptp_set *s, uint32_t owner, uint64_t wired_bit, uint64_t managed_bit,
               FILE *out)
{
	struct run r = {0};
	size_t n;
	const struct leaf **v = sorted_leaves(s, owner, &n);
	for (size_t i = 0; v != NULL && i < n; i++) {
		const struct leaf *l = v[i];
		uint64_t span = level_span(l->level), pa = pte_frame(l->pte, l->level);
		uint64_t flags = l->pte & ~PG_FRAME;
		if (r.open && l->va == r.end && pa == r.pa + (r.end - r.va) && flags == r.flags &&
		    l->level == r.level) {
			r.end += span;
			continue;
		}
		run_print(&r, wired_bit, managed_bit, out);
		r = (struct run){l->va, l->va + span, pa, flags, l->level, true};
	}
	run_print(&r, wired_bit, managed_bit, out);
	free(v);
}
