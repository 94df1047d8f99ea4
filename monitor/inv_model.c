/* monitor/inv_model.c - MODEL family: the walked mappings, page attributes,
 * page contents and failure atomicity against the reference model.
 */
#include <stdlib.h>
#include <string.h>

#include "check_ctx.h"
#include "monitor_impl.h"
#include "pte.h"

static void mapping_vio(struct check *c, int32_t slot, uint64_t va, const struct leaf *l,
			const struct model_map *e)
{
	char want[64];
	if (e)
		snprintf(want, sizeof want, "pg%u %s%s", e->page, prot_name(e->prot), e->wired ? " wired" : "");
	struct violation *v = vio(c, "mapping at 0x%llx: model says %s, the page table says %s", (unsigned long long)va,
				  e ? want : "none", l ? "a mapping" : "none");
	if (l)
		vio_pte(v, slot, va, l->level, l->pte, l->pte);
}

static bool leaf_matches(const struct check *c, const struct leaf *l, const struct model_map *e)
{
	return l->level == 1 && arena_index_of(c->d, pte_frame(l->pte, 1)) == (int64_t)e->page &&
	       pte_prot(l->pte) == e->prot && ((l->pte & c->d->pte_wired_bit) != 0) == (e->wired != 0);
}

static void compare_pmap(struct check *c, uint32_t owner)
{
	const struct snapshot *s = c->cur;
	const struct model *m = c->model;
	uint32_t slot = s->pmap[owner].slot;
	for (size_t i = 0; i < s->walk.nleaf; i++) {
		const struct leaf *l = &s->walk.leaf[i];
		if (l->owner != owner || l->va >= c->d->user_max)
			continue;
		const struct model_map *e = model_lookup(m, slot, l->va);
		if (e == NULL || !leaf_matches(c, l, e))
			mapping_vio(c, (int32_t)slot, l->va, l, e);
	}
	for (size_t i = 0; i < m->nmap; i++)
		if (m->map[i].slot == slot && leaf_at(&s->walk, owner, m->map[i].va) == NULL)
			mapping_vio(c, (int32_t)slot, m->map[i].va, NULL, &m->map[i]);
}

static void compare_kenter(struct check *c)
{
	const struct snapshot *s = c->cur;
	const struct pts_descriptor *d = c->d;
	for (size_t k = 0; k < c->model->nkenter; k++) {
		uint64_t va = d->kenter_base + k * PTS_PAGE_SIZE;
		const struct model_kenter *e = &c->model->kenter[k];
		const struct leaf *l = leaf_at(&s->walk, 0, va);
		bool ok = e->on ? l != NULL && l->level == 1 &&
					  arena_index_of(d, pte_frame(l->pte, 1)) == (int64_t)e->page &&
					  pte_prot(l->pte) == e->prot
				: l == NULL;
		if (ok)
			continue;
		struct violation *v = vio(c, "kenter k+0x%llx: model says %s%s, the page table says %s",
					  (unsigned long long)(k * PTS_PAGE_SIZE), e->on ? "pg" : "none",
					  e->on ? "(see model)" : "", l ? "a mapping" : "none");
		if (l)
			vio_pte(v, VIO_SLOT_KERNEL, va, l->level, l->pte, l->pte);
	}
}

void inv_model_mappings(struct check *c)
{
	const struct snapshot *s = c->cur;
	bool seen[PTS_MAX_PMAPS] = {false};
	for (uint32_t o = 1; o < s->npmap; o++) {
		uint32_t slot = s->pmap[o].slot;
		if (slot >= PTS_MAX_PMAPS || !c->model->live[slot]) {
			vio_pmap(vio(c, "pmap slot %u on the pmap list, the model has no such pmap", slot), c, s, o);
			continue;
		}
		seen[slot] = true;
		compare_pmap(c, o);
	}
	for (uint32_t slot = 0; slot < PTS_MAX_PMAPS; slot++)
		if (c->model->live[slot] && !seen[slot])
			vio(c, "pmap slot %u is live in the model but not on the pmap list", slot);
	compare_kenter(c);
}

void inv_model_attrs(struct check *c)
{
	const struct snapshot *s = c->cur;
	const struct pts_descriptor *d = c->d;
	size_t n = d->arena_npages;
	uint8_t *mod = calloc(n, 1), *ref = calloc(n, 1);
	for (size_t i = 0; mod && ref && i < s->walk.nleaf; i++) {
		const struct leaf *l = &s->walk.leaf[i];
		int64_t pg = arena_index_of(d, pte_frame(l->pte, l->level));
		if (!leaf_is_user(c, l) || !(l->pte & d->pte_managed_bit) || pg < 0)
			continue;
		mod[pg] |= (l->pte & PG_M) != 0;
		ref[pg] |= (l->pte & PG_U) != 0;
	}
	for (size_t pg = 0; mod && ref && pg < n; pg++) {
		const struct vmp *v = &s->vmp[d->arena_first_pfn - d->vm_page_first_pfn + pg];
		bool is_mod = mod[pg] || (v->attrs & PTS_ATTR_MODIFIED), is_ref = ref[pg] || (v->attrs & PTS_ATTR_REFERENCED);
		enum tri want_mod = model_modified(c->model, (uint32_t)pg), want_ref = model_referenced(c->model, (uint32_t)pg);
		const char *what = want_mod != TRI_MAYBE && (want_mod == TRI_YES) != is_mod   ? "modified"
				   : want_ref != TRI_MAYBE && (want_ref == TRI_YES) != is_ref ? "referenced"
											      : NULL;
		if (what == NULL)
			continue;
		bool found = what[0] == 'm' ? is_mod : is_ref;
		struct violation *vi = vio(c, "pg%zu: model says %s %s, attrs and PTEs say %s", pg,
					   found ? "not" : "", what, found ? "yes" : "no");
		vio_page(vi, c, (d->arena_first_pfn + pg) << PTS_PAGE_SHIFT);
	}
	free(mod);
	free(ref);
}

void inv_model_contents(struct check *c)
{
	uint8_t a[PTS_PAGE_SIZE], b[PTS_PAGE_SIZE];
	const struct pts_descriptor *d = c->d;
	if (!(op_is(c, PTS_OP_ZERO) || op_is(c, PTS_OP_COPY)) || c->op->result != PTS_RES_OK ||
	    c->op->page >= d->arena_npages || (op_is(c, PTS_OP_COPY) && c->op->page2 >= d->arena_npages))
		return;
	gpa_t src = (d->arena_first_pfn + c->op->page) << PTS_PAGE_SHIFT;
	gpa_t dst = op_is(c, PTS_OP_COPY) ? (d->arena_first_pfn + c->op->page2) << PTS_PAGE_SHIFT : src;
	memset(b, 0, sizeof b);
	if (gmem_read(&c->m->mem, dst, a, sizeof a) != 0 ||
	    (op_is(c, PTS_OP_COPY) && gmem_read(&c->m->mem, src, b, sizeof b) != 0))
		return;
	if (memcmp(a, b, sizeof a) != 0)
		vio_page(vio(c, op_is(c, PTS_OP_ZERO) ? "page not zero after zero" : "destination differs from source after copy"),
			 c, dst);
}

static bool page_md_equal(const struct vmp *a, const struct vmp *b)
{
	return a->attrs == b->attrs && a->flags == b->flags && a->pmap_count == b->pmap_count &&
	       a->writeable_count == b->writeable_count && a->pv_list == b->pv_list;
}

void inv_model_enomem(struct check *c)
{
	check_model_findings(c);
	if (c->mout == NULL || !c->mout->unchanged || c->prev == NULL)
		return;
	const struct snapshot *s = c->cur, *p = c->prev;
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (ch->slot < 0 || pte_hw_update(ch->old, ch->new))
			continue;
		struct violation *v = vio(c, "failed op (%s) changed a user page-table entry", result_name(c->op->result));
		vio_pte(v, ch->slot, ch->va, ch->level, ch->old, ch->new);
		break;
	}
	for (uint32_t o = 1; o < s->npmap && o < p->npmap; o++)
		if (s->pmap[o].kva == p->pmap[o].kva &&
		    (s->pmap[o].resident != p->pmap[o].resident || s->pmap[o].wired != p->pmap[o].wired ||
		     s->pmap[o].ptp_count != p->pmap[o].ptp_count))
			vio_pmap(vio(c, "failed op changed pmap counters"), c, s, o);
	for (uint64_t i = 0; i < s->nvmp && i < p->nvmp; i++)
		if (s->vmp[i].usage == PTS_PG_ARENA && !page_md_equal(&s->vmp[i], &p->vmp[i]))
			vio_page(vio(c, "failed op changed the page's md state"), c,
				 (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT);
	if (s->pool.ok && p->pool.ok && s->pool.nout != p->pool.nout)
		vio_counter(vio(c, "failed op changed the pool's nout"), "pr_nout", p->pool.nout, s->pool.nout);
}
