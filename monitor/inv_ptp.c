/* monitor/inv_ptp.c - PTP family: reference counts, one parent, no sharing,
 * empty tables freed, the PTP hash, and what kind of page a table is.
 */
#include "check_ctx.h"
#include "pte.h"

static bool user_ptp(const struct check *c, const struct ptp *t)
{
	return owner_is_user(c->cur, t->owner) && t->level < 4;
}

static const struct vmp *ptp_page(const struct check *c, const struct ptp *t, int64_t *index)
{
	*index = snap_page_index(c->d, t->pa);
	return *index < 0 || (uint64_t)*index >= c->cur->nvmp ? NULL : &c->cur->vmp[*index];
}

static void ptp_refcount(struct check *c, const struct ptp *t)
{
	int64_t pi;
	const struct vmp *p = ptp_page(c, t, &pi);
	if (!user_ptp(c, t) || p == NULL || p->wire_count == 1 + t->nvalid)
		return;
	struct violation *v =
	    vio(c, "PTP wire_count %u, want 1 + %u valid entries", p->wire_count, t->nvalid);
	vio_ptp(v, c, t);
	vio_counter(v, "wire_count", 1 + t->nvalid, p->wire_count);
}

void inv_ptp_refcount(struct check *c)
{
	each_table(c, ptp_refcount);
}

static void walk_issues(struct check *c, bool shared)
{
	static const char *const what[] = {
	    "table entry points outside guest RAM", "table reached from two pmaps",
	    "table reached twice within one pmap (second parent or cycle)",
	    "walk visit limit reached", "table unreadable"};
	const struct ptp_set *w = &c->cur->walk;
	for (size_t i = 0; i < w->nissue; i++) {
		const struct walk_issue *is = &w->issue[i];
		if ((is->kind == WALK_SHARED) != shared)
			continue;
		struct violation *v =
		    vio(c, "%s: 0x%llx (also pmap %d)", what[is->kind], (unsigned long long)is->pa,
		        snap_slot(c->cur, is->other_owner));
		vio_pte(v, snap_slot(c->cur, is->owner), is->va, is->level, is->pte, is->pte);
	}
}

void inv_ptp_one_parent(struct check *c)
{
	walk_issues(c, false);
}

void inv_ptp_not_shared(struct check *c)
{
	walk_issues(c, true);
}

static void ptp_empty(struct check *c, const struct ptp *t)
{
	if (user_ptp(c, t) && t->nvalid == 0)
		vio_ptp(vio(c, "empty PTP still linked"), c, t);
}

void inv_ptp_empty_freed(struct check *c)
{
	each_table(c, ptp_empty);
}

/* the pages on owner's hash; reports bad links; bounded by the vm_page count */
static void hash_members(struct check *c, uint32_t owner, struct hmap *on)
{
	const struct snapshot *s = c->cur;
	for (uint32_t b = 0; b < c->d->ptp_hash_size; b++) {
		uint64_t kva = s->hash[s->pmap[owner].hash_off + b], steps = 0;
		while (kva != 0) {
			int64_t pi = desc_vm_page_index(c->d, kva);
			uint64_t seen;
			if (pi < 0 || (uint64_t)pi >= s->nvmp || ++steps > s->nvmp) {
				vio_pmap(vio(c,
				             "PTP hash bucket %u: 0x%llx is not a vm_page (or the "
				             "chain loops)",
				             b, (unsigned long long)kva),
				         c, s, owner);
				break;
			}
			if (hmap_get(on, (uint64_t)pi, &seen)) {
				vio_pmap(vio(c, "PTP hash: vm_page %lld twice on the hash",
				             (long long)pi),
				         c, s, owner);
				break;
			}
			hmap_put(on, (uint64_t)pi, b);
			kva = s->vmp[pi].ptp_hnext;
		}
	}
}

static void check_hashed_ptp(struct check *c, const struct ptp *t, const struct hmap *on)
{
	const struct snapshot *s = c->cur;
	int64_t pi;
	const struct vmp *p = ptp_page(c, t, &pi);
	uint64_t bucket;
	const char *why = NULL;
	if (p == NULL || !hmap_get(on, (uint64_t)pi, &bucket))
		why = "PTP not on its pmap's hash";
	else if (p->ptp_pmap != s->pmap[t->owner].kva || p->ptp_va != t->va ||
	         p->ptp_level != t->level)
		why = "PTP's ptp_pmap / ptp_va / ptp_level disagree with the walk";
	else if (c->d->ptp_hash_rule == PTS_PTP_HASH_VA_LEVEL &&
	         bucket != PTS_PTP_HASH(t->va, t->level, c->d->ptp_hash_size))
		why = "PTP in the wrong hash bucket for its (va, level)";
	if (why != NULL)
		vio_ptp(vio(c, "%s", why), c, t);
}

/* on: a map to use, emptied first */
static void ptp_hash(struct check *c, uint64_t owner, const void *map)
{
	struct hmap *on = (struct hmap *)map;
	uint32_t o = (uint32_t)owner;
	const struct snapshot *s = c->cur;
	const struct ptp_set *w = &s->walk;
	if (!owner_is_user(s, o))
		return;
	hmap_clear(on);
	hash_members(c, o, on);
	for (size_t i = 0; i < w->nptp; i++)
		if (w->ptp[i].owner == o && w->ptp[i].level < 4)
			check_hashed_ptp(c, &w->ptp[i], on);
	for (size_t i = 0; i < on->cap; i++) {
		if (!on->used[i])
			continue;
		const struct ptp *t =
		    ptp_by_pa(w, (c->d->vm_page_first_pfn + on->keys[i]) << PTS_PAGE_SHIFT);
		if (t != NULL && t->owner == o && t->level < 4)
			continue;
		struct violation *v = vio(
		    c, "page on pmap %u's PTP hash is not one of its live PTPs", s->pmap[o].slot);
		vio_page(v, c, (c->d->vm_page_first_pfn + on->keys[i]) << PTS_PAGE_SHIFT);
	}
}

/*
 * A pmap's hash changes only through its bucket heads (its record), a PTP
 * that came or went (its tables' parent entries: the delta), or the vm_page
 * of a page on a chain; with the hash clean before, every such page was one
 * of the pmap's PTPs.  The scope's owners hold all three.
 */
void inv_ptp_hash(struct check *c)
{
	struct hmap on;
	hmap_init(&on);
	each_owner(c, ptp_hash, &on);
	hmap_free(&on);
}

static void table_usage(struct check *c, const struct ptp *t)
{
	int64_t pi;
	const struct vmp *p = ptp_page(c, t, &pi);
	if (p != NULL && p->usage == PTS_PG_PTP)
		return;
	struct violation *v =
	    vio(c, p ? "page-table page has usage %u, not PTP" : "page-table page has no vm_page",
	        p ? p->usage : 0);
	vio_ptp(v, c, t);
	vio_page(v, c, t->pa);
}

static inline void page_usage(struct check *c, uint64_t i, const void *unused)
{
	if (c->cur->vmp[i].usage != PTS_PG_PTP) /* first: a full check asks every vm_page */
		return;
	uint64_t pa = (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT;
	if (ptp_by_pa(&c->cur->walk, pa) == NULL)
		vio_page(
		    vio(c, "page of usage PTP is not reached by any walk (leaked or freed late)"),
		    c, pa);
}

void inv_ptp_usage(struct check *c)
{
	each_table(c, table_usage);
	each_page(c, page_usage, NULL);
}
