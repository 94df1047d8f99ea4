/* monitor/inv_pv.c - PV family: every managed PTE has its pv entry and every
 * pv entry its PTE, with the right page and PTP back-pointer.
 */
#include "check_ctx.h"
#include "pte.h"

static int64_t leaf_page(const struct check *c, const struct leaf *l)
{
	return snap_page_index(c->d, pte_frame(l->pte, l->level));
}

static void pv_for_leaf(struct check *c, const struct leaf *l)
{
	const struct snapshot *s = c->cur;
	if (!leaf_is_user(c, l) || !(l->pte & c->d->pte_managed_bit))
		return;
	size_t pv = snap_pv_at(s, l->owner, l->va);
	if (pv != 0 && (int64_t)s->pv[pv - 1].page == leaf_page(c, l))
		return;
	struct violation *v = vio(c, pv ? "pv entry for the mapping is on another page's list"
	                                : "managed PTE without a pv entry");
	vio_pte(v, snap_slot(s, l->owner), l->va, l->level, l->pte, l->pte);
	vio_page(v, c, pte_frame(l->pte, l->level));
}

void inv_pv_for_pte(struct check *c)
{
	each_leaf(c, SCOPE_DELTA | SCOPE_PV_KEYS, pv_for_leaf);
}

static void pte_for_pv(struct check *c, const struct pv_snap *pv)
{
	const struct snapshot *s = c->cur;
	if (pv->owner <= 0)
		return; /* PV-6, PV-4 */
	const struct leaf *l = leaf_at(&s->walk, (uint32_t)pv->owner, pv->va);
	const char *why = NULL;
	if (l == NULL)
		why = "pv entry without a mapping behind it";
	else if (l->va != pv->va || !(l->pte & c->d->pte_managed_bit))
		why = "pv entry's mapping is not a managed 4 KiB PTE";
	else if (leaf_page(c, l) != (int64_t)pv->page)
		why = "pv entry on the list of a page its PTE does not map";
	if (why == NULL)
		return;
	struct violation *v = vio(c, "%s", why);
	vio_pv(v, c, pv);
	if (l)
		vio_pte(v, snap_slot(s, (uint32_t)pv->owner), l->va, l->level, l->pte, l->pte);
	vio_page(v, c, (c->d->vm_page_first_pfn + pv->page) << PTS_PAGE_SHIFT);
}

void inv_pte_for_pv(struct check *c)
{
	each_pv(c, SCOPE_DELTA | SCOPE_ALL_IF_LARGE, pte_for_pv);
}

static void pv_ptp(struct check *c, const struct pv_snap *pv)
{
	const struct snapshot *s = c->cur;
	const struct leaf *l =
	    pv->owner > 0 ? leaf_at(&s->walk, (uint32_t)pv->owner, pv->va) : NULL;
	if (l == NULL || l->va != pv->va)
		return;
	int64_t pi = snap_page_index(c->d, l->ptp);
	uint64_t want = pi < 0 ? 0 : desc_vm_page_kva(c->d, (uint64_t)pi);
	if (pv->ptp == want)
		return;
	struct violation *v =
	    vio(c, "pv entry's PTP pointer 0x%llx, the PTE is in the PTP whose vm_page is 0x%llx",
	        (unsigned long long)pv->ptp, (unsigned long long)want);
	vio_pv(v, c, pv);
	const struct ptp *t = ptp_by_pa(&s->walk, l->ptp);
	if (t)
		vio_ptp(v, c, t);
}

/* a table that moved moves its leaves */
void inv_pv_ptp(struct check *c)
{
	each_pv(c, SCOPE_DELTA | SCOPE_TABLES | SCOPE_ALL_IF_LARGE, pv_ptp);
}

static void managed_leaf(struct check *c, const struct leaf *l)
{
	bool want = leaf_is_user(c, l) && l->level == 1 &&
	            arena_index_of(c->d, pte_frame(l->pte, l->level)) >= 0;
	bool has = (l->pte & c->d->pte_managed_bit) != 0;
	if (want == has)
		return;
	struct violation *v =
	    vio(c, want ? "user mapping of an arena page without the managed bit"
	                : "managed bit on a mapping that is not a user mapping of an arena page");
	vio_pte(v, snap_slot(c->cur, l->owner), l->va, l->level, l->pte, l->pte);
	vio_page(v, c, pte_frame(l->pte, l->level));
}

static inline void managed_page(struct check *c, uint64_t i, const void *unused)
{
	if (c->cur->vmp[i].pv_list == 0) /* first: a full check asks every vm_page */
		return;
	uint64_t pa = (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT;
	if (arena_index_of(c->d, pa) < 0)
		vio_page(vio(c, "pv list on a page that is not an arena page"), c, pa);
}

static inline void managed_pv(struct check *c, uint64_t i, const void *unused)
{
	const struct pv_snap *pv = &c->cur->pv[i];
	if (pv->owner == 0)
		vio_pv(
		    vio(c, "pv entry names the kernel pmap: kenter mappings are never pv-tracked"),
		    c, pv);
}

void inv_managed_bit(struct check *c)
{
	each_leaf(c, SCOPE_DELTA, managed_leaf);
	each_page_changed(c, managed_page, NULL);
	each_new_pv(c, managed_pv, NULL);
}

void inv_pv_lists(struct check *c)
{
	const struct snapshot *s = c->cur;
	struct hmap seen;
	if (c->scope != NULL)
		return; /* pv lists that hold a (pmap, va) twice or cross make the update step aside
		         */
	hmap_init(&seen);
	for (size_t i = 0; i < s->npv; i++) {
		const struct pv_snap *pv = &s->pv[i];
		uint64_t key = (pv->va & ~(uint64_t)0xfff) | (uint32_t)(pv->owner & 0xfff), page;
		if (pv->owner < 0)
			continue;
		if (hmap_get(&seen, key, &page) && page == pv->page) {
			struct violation *v = vio(c, "(pmap, va) twice on one pv list");
			vio_pv(v, c, pv);
			vio_page(v, c, (c->d->vm_page_first_pfn + pv->page) << PTS_PAGE_SHIFT);
		}
		hmap_put(&seen, key, pv->page);
	}
	hmap_free(&seen);
}

static inline void pv_pmap_live(struct check *c, uint64_t i, const void *unused)
{
	const struct pv_snap *pv = &c->cur->pv[i];
	if (pv->owner < 0)
		vio_pv(vio(c, "pv entry names pmap 0x%llx, which is not on the pmap list",
		           (unsigned long long)pv->pmap),
		       c, pv);
}

void inv_pv_pmap_live(struct check *c)
{
	each_new_pv(c, pv_pmap_live, NULL);
}
