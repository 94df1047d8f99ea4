/* monitor/inv_as.c - AS family: the user/kernel split, shared kernel slots,
 * the direct map, what user leaves may point at, and the structures the
 * monitor reads.
 */
#include "check_ctx.h"
#include "monitor_impl.h"
#include "pte.h"

static inline void user_bit(struct check *c, uint32_t owner, uint32_t level, uint64_t va,
                            uint64_t e)
{
	if (!pte_valid(e) || !(e & PG_u) || va < c->d->user_max)
		return;
	struct violation *v = vio(c, "user-accessible entry in the kernel half");
	vio_pte(v, snap_slot(c->cur, owner), va, level, e, e);
}

void inv_as_user_bit(struct check *c)
{
	each_entry(c, 0, user_bit);
}

static void slot_mismatch(struct check *c, uint32_t owner, unsigned slot, uint64_t found,
                          uint64_t want, const char *msg)
{
	struct violation *v = vio(c, "PML4 slot %u: %s", slot, msg);
	vio_pte(v, snap_slot(c->cur, owner), canonical((uint64_t)slot << 39), 4, want, found);
}

/* k: the kernel PML4's entries */
static void kernel_slots_of(struct check *c, uint64_t o, const void *k_entries)
{
	const struct ptp_set *w = &c->cur->walk;
	const uint64_t *k = k_entries;
	unsigned first_kernel_half = level_index(c->d->user_max - 1, 4) + 1;
	if (o == 0 || o >= w->nroot || w->root[o] == SIZE_MAX)
		return;
	const uint64_t *e = ptp_entries(w, &w->ptp[w->root[o]]);
	for (unsigned i = first_kernel_half; i < NPTEPG; i++) {
		bool shared = i >= c->d->kernel_slot_first && i <= c->d->kernel_slot_last;
		if (shared && e[i] != k[i])
			slot_mismatch(c, o, i, e[i], k[i],
			              "differs from the kernel pmap's (old = kernel's)");
		else if (!shared && e[i] != 0)
			slot_mismatch(c, o, i, e[i], 0, "non-shared kernel-half slot in use");
	}
}

/* every user PML4 when the kernel's changed, else those whose own entries changed */
void inv_as_kernel_slots(struct check *c)
{
	const struct ptp_set *w = &c->cur->walk;
	unsigned first_kernel_half = level_index(c->d->user_max - 1, 4) + 1;
	if (w->nroot == 0 || w->root[0] == SIZE_MAX)
		return;
	const uint64_t *k = ptp_entries(w, &w->ptp[w->root[0]]);
	if (c->scope != NULL && !c->scope->kernel_root_changed) {
		each_owner(c, kernel_slots_of, k);
		return;
	}
	for (unsigned i = 0; i < first_kernel_half; i++)
		if (pte_valid(k[i]))
			slot_mismatch(c, 0, i, k[i], 0, "the kernel pmap maps user space");
	for (uint32_t o = 1; o < w->nroot; o++)
		kernel_slots_of(c, o, k);
}

/* looked at again when a kernel entry over the direct map changed */
void inv_as_dmap(struct check *c)
{
	const struct pts_descriptor *d = c->d;
	const struct ptp_set *w = &c->cur->walk;
	uint64_t covered = 0;
	if (c->scope != NULL && !c->scope->dmap_changed)
		return;
	for (size_t i = 0; i < w->nleaf; i++) {
		const struct leaf *l = &w->leaf[i];
		if (l->owner != 0 || l->va < d->dmap_base || l->va - d->dmap_base >= d->dmap_size)
			continue;
		uint64_t off = l->va - d->dmap_base, span = level_span(l->level);
		covered += span < d->dmap_size - off ? span : d->dmap_size - off;
		const char *why = pte_frame(l->pte, l->level) != off
		                      ? "direct map does not map va - dmap_base"
		                  : !(l->pte & PG_NX) ? "direct map entry without NX"
		                  : (l->pte & PG_u)   ? "direct map entry user-accessible"
		                                      : NULL;
		if (why)
			vio_pte(vio(c, "%s", why), VIO_SLOT_KERNEL, l->va, l->level, l->pte,
			        l->pte);
	}
	if (covered != d->dmap_size) {
		struct violation *v =
		    vio(c, "direct map covers 0x%llx of 0x%llx bytes", (unsigned long long)covered,
		        (unsigned long long)d->dmap_size);
		vio_counter(v, "dmap bytes", (int64_t)d->dmap_size, (int64_t)covered);
	}
}

static void user_target(struct check *c, const struct leaf *l)
{
	gpa_t pa = pte_frame(l->pte, l->level);
	if (!leaf_is_user(c, l) || arena_index_of(c->d, pa) >= 0)
		return;
	const struct vmp *p = snap_page(c->cur, c->d, pa);
	struct violation *v =
	    vio(c, "user mapping of a non-arena page (usage %d)", p ? (int)p->usage : -1);
	vio_pte(v, snap_slot(c->cur, l->owner), l->va, l->level, l->pte, l->pte);
	vio_page(v, c, pa);
}

void inv_as_user_targets(struct check *c)
{
	each_leaf(c, SCOPE_DELTA, user_target);
}

static void check_curpmap(struct check *c)
{
	const struct snapshot *s = c->cur;
	bool cur_ok = s->curpmap == 0;
	for (size_t i = 0; i < s->npmap; i++)
		cur_ok |= s->pmap[i].live && s->pmap[i].kva == s->curpmap;
	if (!cur_ok)
		vio(c, "curpmap 0x%llx is not a live pmap", (unsigned long long)s->curpmap);
}

static void check_pmap_records(struct check *c)
{
	const struct snapshot *s = c->cur;
	for (size_t i = 1; i < s->npmap; i++) {
		if (!s->pmap[i].live)
			continue;
		if (s->pmap[i].slot >= PTS_MAX_PMAPS)
			vio_pmap(vio(c, "pmap slot %u out of range", s->pmap[i].slot), c, s,
			         (uint32_t)i);
		for (size_t j = 1; j < i; j++)
			if (s->pmap[j].live && s->pmap[j].slot == s->pmap[i].slot)
				vio_pmap(vio(c, "two pmaps with slot %u", s->pmap[i].slot), c, s,
				         (uint32_t)i);
	}
	check_curpmap(c);
	if (s->pmap[0].root == 0)
		vio_pmap(vio(c, "kernel pmap has no PML4"), c, s, 0);
}

static inline void phys_addr(struct check *c, uint64_t i, const void *unused)
{
	uint64_t pa = (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT;
	if (c->cur->vmp[i].phys_addr != pa)
		vio_page(vio(c, "vm_page %llu: phys_addr 0x%llx", (unsigned long long)i,
		             (unsigned long long)c->cur->vmp[i].phys_addr),
		         c, pa);
}

/* slots and roots change only with the pmap list */
void inv_as_structures(struct check *c)
{
	if (c->scope == NULL || c->scope->pmaps_changed)
		check_pmap_records(c);
	else
		check_curpmap(c);
	each_page_changed(c, phys_addr, NULL);
}
