/* monitor/inv_attr.c - ATTR and PROT families: A/D harvesting, PTE sanity and
 * encoding, and rights that ops other than enter never grant.
 */
#include "check_ctx.h"
#include "pte.h"

static bool change_is_user_leaf(const struct check *c, const struct pte_change *ch)
{
	return ch->slot >= 0 && ch->level == 1 && ch->va < c->d->user_max;
}

static bool frame_changed(const struct pte_change *ch)
{
	return !pte_valid(ch->new) || (ch->flags & PTE_CHG_DETACHED) ||
	       pte_frame(ch->old, ch->level) != pte_frame(ch->new, ch->level);
}

static void report_change(struct check *c, const struct pte_change *ch, const char *msg)
{
	struct violation *v = vio(c, "%s", msg);
	vio_pte(v, ch->slot, ch->va, ch->level, ch->old, ch->new);
	if (pte_valid(ch->old))
		vio_page(v, c, pte_frame(ch->old, ch->level));
}

/*
 * The attrs a clear_modify (MODIFIED) or clear_reference (REFERENCED) of the
 * group clears for the page at pa.  It holds the page's pv lock, as the
 * harvest does: in either order the page ends without the bit (cleared in
 * the PTE before the harvest, or in the attrs after it), so the group's end
 * state cannot show whether the bit was harvested.  MODEL-3 judges the
 * page's final bits against every order (a harvest after the clear had
 * begun, a lost clear, leaves the bit set: that it reports).
 */
static uint32_t group_cleared(const struct check *c, gpa_t pa)
{
	uint32_t cleared = 0;
	for (size_t i = 0; c->ngroup > 1 && i < c->ngroup; i++) {
		const struct pts_op *op = &c->group[i];
		if ((gpa_t)((c->d->arena_first_pfn + op->page) << PTS_PAGE_SHIFT) != pa)
			continue;
		if (op->kind == PTS_OP_CLEAR_MODIFY)
			cleared |= PTS_ATTR_MODIFIED;
		else if (op->kind == PTS_OP_CLEAR_REFERENCE)
			cleared |= PTS_ATTR_REFERENCED;
	}
	return cleared;
}

void inv_attr_harvest(struct check *c)
{
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (!change_is_user_leaf(c, ch) || !pte_valid(ch->old) ||
		    !(ch->old & c->d->pte_managed_bit) || !frame_changed(ch))
			continue;
		gpa_t pa = pte_frame(ch->old, 1);
		const struct vmp *p = snap_page(c->cur, c->d, pa);
		uint32_t need = ((ch->old & PG_M) ? PTS_ATTR_MODIFIED : 0) |
		                ((ch->old & PG_U) ? PTS_ATTR_REFERENCED : 0);
		need &= ~group_cleared(c, pa);
		if (p != NULL && (p->attrs & need) != need)
			report_change(c, ch,
			              "A/D of a removed or replaced managed PTE not merged into "
			              "the page's attrs");
	}
}

void inv_attr_d_needs_a(struct check *c)
{
	/* a group's delta is its ops' together: a touch's D, then a
	 * clear_reference of its A, shows as a D set without A */
	if (c->ngroup > 1 && group_has(c, PTS_OP_TOUCH) && group_has(c, PTS_OP_CLEAR_REFERENCE))
		return;
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (!pte_valid(ch->new) || !pte_is_leaf(ch->new, ch->level) || !(ch->new &PG_M) ||
		    (ch->new &PG_U))
			continue;
		bool kept = pte_valid(ch->old) && !frame_changed(ch) && (ch->old & PG_M);
		if (!kept)
			report_change(c, ch, "PTE has D without A");
	}
}

static inline void reserved_entry(struct check *c, uint32_t owner, uint32_t level, uint64_t va,
                                  uint64_t e)
{
	if (!pte_valid(e))
		return;
	uint64_t ok = c->d->pte_wired_bit | c->d->pte_managed_bit;
	if (pte_reserved(e, level, ok) == 0)
		return;
	struct violation *v =
	    vio(c, "reserved bits 0x%llx set", (unsigned long long)pte_reserved(e, level, ok));
	vio_pte(v, snap_slot(c->cur, owner), va, level, e, e);
}

void inv_attr_reserved(struct check *c)
{
	each_entry(c, 0, reserved_entry);
}

void inv_attr_new_pte(struct check *c)
{
	/* a group's delta is its ops' together: a touch in it may have used a
	 * new mapping, or written through one a protect then made read-only */
	if (c->ngroup > 1 && group_has(c, PTS_OP_TOUCH))
		return;
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (!change_is_user_leaf(c, ch) || !pte_valid(ch->new))
			continue;
		bool created = !pte_valid(ch->old) || frame_changed(ch);
		if (created && (ch->new &(PG_U | PG_M)))
			report_change(c, ch, "new mapping written with A or D set");
		else if ((ch->new &PG_M) && !(ch->new &PG_RW) &&
		         !(pte_valid(ch->old) && (ch->old & PG_M)))
			report_change(c, ch, "D set on a PTE without RW");
	}
}

static void check_leaf_encoding(struct check *c, const struct leaf *l)
{
	const struct pts_descriptor *d = c->d;
	const char *why = NULL;
	bool user = leaf_is_user(c, l);
	bool kenter =
	    l->owner == 0 && l->va >= d->kenter_base && l->va - d->kenter_base < d->kenter_size;
	if (user && l->level != 1)
		why = "user leaf is not a 4 KiB PTE";
	else if (user && (!(l->pte & PG_u) || (l->pte & (PG_G | PG_WT | PG_N))))
		why = "user leaf must be V|US without G, PWT, PCD";
	else if (kenter && (l->level != 1 || !(l->pte & PG_G) || (l->pte & (PG_u | PG_WT | PG_N))))
		why = "kenter leaf must be a 4 KiB V|G PTE without US, PWT, PCD";
	if (why == NULL)
		return;
	struct violation *v = vio(c, "%s", why);
	vio_pte(v, snap_slot(c->cur, l->owner), l->va, l->level, l->pte, l->pte);
}

static void intermediate_encoding(struct check *c, uint32_t owner, uint32_t level, uint64_t va,
                                  uint64_t e)
{
	if (!owner_is_user(c->cur, owner) || level == 1 || !pte_valid(e) || pte_is_leaf(e, level) ||
	    va >= c->d->user_max)
		return;
	if ((e & (PG_RW | PG_u)) == (PG_RW | PG_u) && !(e & PG_NX))
		return;
	struct violation *v = vio(c, "user intermediate entry must be V|RW|US without NX");
	vio_pte(v, snap_slot(c->cur, owner), va, level, e, e);
}

/* a full check has the walk's leaves, and looks at the entries of user
 * intermediate tables; a scoped one meets the leaves it looks at among the
 * changed entries (the walk holds every changed entry's table; a leaf of it
 * is a walk leaf unless it sits in a shared kernel slot of a user PML4, never
 * a leaf) */
static inline void entry_encoding(struct check *c, uint32_t owner, uint32_t level, uint64_t va,
                                  uint64_t e)
{
	struct leaf l = {owner, level, va, e, 0, 0};
	if (!pte_valid(e))
		return;
	if (!pte_is_leaf(e, level))
		intermediate_encoding(c, owner, level, va, e);
	else if (c->scope != NULL)
		check_leaf_encoding(c, &l);
}

void inv_attr_encoding(struct check *c)
{
	const struct ptp_set *w = &c->cur->walk;
	for (size_t i = 0; c->scope == NULL && i < w->nleaf; i++)
		check_leaf_encoding(c, &w->leaf[i]);
	each_entry(c, c->scope ? 0 : ENTRIES_USER | ENTRIES_UPPER, entry_encoding);
}

/* ---- invalid entries: 0 in user tables */

static inline void invalid_entry(struct check *c, uint32_t owner, uint32_t level, uint64_t va,
                                 uint64_t e)
{
	if (pte_valid(e) || e == 0 || !owner_is_user(c->cur, owner) || va >= c->d->user_max)
		return;
	struct violation *v =
	    vio(c, "non-present entry 0x%llx in a user table is not 0", (unsigned long long)e);
	vio_pte(v, snap_slot(c->cur, owner), va, level, e, e);
}

/* every entry of every user table, the ones the walk does not follow too (the
 * delta holds every entry that changed, those of tables attached this op too) */
void inv_attr_invalid_zero(struct check *c)
{
	each_entry(c, ENTRIES_USER, invalid_entry);
}

/* ---- PROT */

void inv_prot_never_grants(struct check *c)
{
	if (c->op == NULL || group_has(c, PTS_OP_ENTER) || group_has(c, PTS_OP_KENTER))
		return;
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (!pte_valid(ch->old) || !pte_valid(ch->new) ||
		    !pte_is_leaf(ch->old, ch->level) || !pte_is_leaf(ch->new, ch->level) ||
		    frame_changed(ch))
			continue;
		bool grants = (!(ch->old & PG_RW) && (ch->new &PG_RW)) ||
		              (!(ch->old & PG_u) && (ch->new &PG_u)) ||
		              ((ch->old & PG_NX) && !(ch->new &PG_NX));
		if (grants)
			report_change(c, ch, "a right was granted by an op that must not grant");
	}
}
