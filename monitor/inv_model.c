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
		snprintf(want, sizeof want, "pg%u %s%s", e->page, prot_name(e->prot),
		         e->wired ? " wired" : "");
	struct violation *v =
	    vio(c, "mapping at 0x%llx: model says %s, the page table says %s",
	        (unsigned long long)va, e ? want : "none", l ? "a mapping" : "none");
	if (l)
		vio_pte(v, slot, va, l->level, l->pte, l->pte);
}

static bool leaf_matches(const struct check *c, const struct leaf *l, const struct model_map *e)
{
	return l->level == 1 && arena_index_of(c->d, pte_frame(l->pte, 1)) == (int64_t)e->page &&
	       pte_prot(l->pte) == e->prot &&
	       ((l->pte & c->d->pte_wired_bit) != 0) == (e->wired != 0);
}

/* the leaf starting at va against the model's mapping there */
static void leaf_vs_model(struct check *c, uint32_t slot, const struct leaf *l)
{
	const struct model_map *e = model_lookup(c->model, slot, l->va);
	if (e == NULL || !leaf_matches(c, l, e))
		mapping_vio(c, (int32_t)slot, l->va, l, e);
}

/* a model mapping with no leaf over its va */
static void model_vs_walk(struct check *c, uint32_t owner, const struct model_map *e)
{
	if (leaf_at(&c->cur->walk, owner, e->va) == NULL)
		mapping_vio(c, (int32_t)e->slot, e->va, NULL, e);
}

static void compare_pmap(struct check *c, uint32_t owner)
{
	const struct snapshot *s = c->cur;
	const struct model *m = c->model;
	uint32_t slot = s->pmap[owner].slot;
	for (size_t i = 0; i < s->walk.nleaf; i++)
		if (s->walk.leaf[i].owner == owner && s->walk.leaf[i].va < c->d->user_max)
			leaf_vs_model(c, slot, &s->walk.leaf[i]);
	size_t n;
	const struct model_map *maps = model_maps(m, slot, &n);
	for (size_t i = 0; i < n; i++)
		model_vs_walk(c, owner, &maps[i]);
}

static inline void compare_kenter_page(struct check *c, uint64_t k, const void *unused)
{
	if (k >= c->model->nkenter)
		return;
	const struct pts_descriptor *d = c->d;
	uint64_t va = d->kenter_base + k * PTS_PAGE_SIZE;
	const struct model_kenter *e = &c->model->kenter[k];
	const struct leaf *l = leaf_at(&c->cur->walk, 0, va);
	bool ok = e->on ? l != NULL && l->level == 1 &&
	                      arena_index_of(d, pte_frame(l->pte, 1)) == (int64_t)e->page &&
	                      pte_prot(l->pte) == e->prot
	                : l == NULL;
	if (ok)
		return;
	struct violation *v = vio(c, "kenter k+0x%llx: model says %s%s, the page table says %s",
	                          (unsigned long long)(k * PTS_PAGE_SIZE), e->on ? "pg" : "none",
	                          e->on ? "(see model)" : "", l ? "a mapping" : "none");
	if (l)
		vio_pte(v, VIO_SLOT_KERNEL, va, l->level, l->pte, l->pte);
}

/* the pmap list against the model's live slots; which pmaps to compare */
static void compare_live(struct check *c, bool *compare)
{
	const struct snapshot *s = c->cur;
	bool seen[PTS_MAX_PMAPS] = {false};
	for (uint32_t o = 1; o < s->npmap; o++) {
		uint32_t slot = s->pmap[o].slot;
		if (!s->pmap[o].live)
			continue;
		compare[o] = slot < PTS_MAX_PMAPS && c->model->live[slot];
		if (!compare[o]) {
			vio_pmap(vio(c, "pmap slot %u on the pmap list, the model has no such pmap",
			             slot),
			         c, s, o);
			continue;
		}
		seen[slot] = true;
	}
	for (uint32_t slot = 0; slot < PTS_MAX_PMAPS; slot++)
		if (c->model->live[slot] && !seen[slot])
			vio(c, "pmap slot %u is live in the model but not on the pmap list", slot);
}

/* a (slot, va) whose leaf or model mapping the op changed */
static void compare_key(struct check *c, const bool *compare, uint32_t slot, uint64_t va)
{
	int32_t o = snap_pmap_by_slot(c->cur, slot);
	if (o <= 0 || !compare[o] || va >= c->d->user_max)
		return;
	uint64_t i;
	const struct ptp_set *w = &c->cur->walk;
	if (hmap_get(&w->leaf_by_va, leaf_key((uint32_t)o, va), &i))
		leaf_vs_model(c, slot, &w->leaf[i]);
	const struct model_map *e = model_lookup(c->model, slot, va);
	if (e != NULL)
		model_vs_walk(c, (uint32_t)o, e);
}

/* every pmap's mappings both ways, or the (slot, va) keys the scope names */
void inv_model_mappings(struct check *c)
{
	bool compare[SNAP_MAX_PMAPS] = {false};
	const struct scope *sc = c->scope;
	compare_live(c, compare);
	for (uint32_t o = 1; sc == NULL && o < c->cur->npmap; o++)
		if (compare[o])
			compare_pmap(c, o);
	for (size_t k = 0; sc != NULL && k < sc->model_keys.n; k++)
		compare_key(c, compare, (uint32_t)(sc->model_keys.v[k] & 0xfff),
		            sc->model_keys.v[k] & ~(uint64_t)0xfff);
	each_kenter_page(c, compare_kenter_page, NULL);
}

static void page_attrs(struct check *c, size_t pg, bool mod, bool ref)
{
	const struct pts_descriptor *d = c->d;
	const struct vmp *v = &c->cur->vmp[d->arena_first_pfn - d->vm_page_first_pfn + pg];
	bool is_mod = mod || (v->attrs & PTS_ATTR_MODIFIED),
	     is_ref = ref || (v->attrs & PTS_ATTR_REFERENCED);
	enum tri want_mod = model_modified(c->model, (uint32_t)pg),
	         want_ref = model_referenced(c->model, (uint32_t)pg);
	const char *what = want_mod != TRI_MAYBE && (want_mod == TRI_YES) != is_mod   ? "modified"
	                   : want_ref != TRI_MAYBE && (want_ref == TRI_YES) != is_ref ? "referenced"
	                                                                              : NULL;
	if (what == NULL)
		return;
	bool found = what[0] == 'm' ? is_mod : is_ref;
	struct violation *vi = vio(c, "pg%zu: model says %s %s, attrs and PTEs say %s", pg,
	                           found ? "not" : "", what, found ? "yes" : "no");
	vio_page(vi, c, (d->arena_first_pfn + pg) << PTS_PAGE_SHIFT);
}

/* the pages whose attrs or PTEs changed (by vm_page) or whose prediction may
 * have (by arena index), each once, against the counts kept */
static void scoped_attrs(struct check *c)
{
	const struct pts_descriptor *d = c->d;
	const struct incr *x = c->inc;
	uint64_t first = d->arena_first_pfn - d->vm_page_first_pfn;
	struct idset done;
	idset_init(&done);
	for (size_t k = 0; k < c->scope->pages.n + c->scope->model_pages.n; k++) {
		uint64_t pg = k < c->scope->pages.n
		                  ? c->scope->pages.v[k] - first
		                  : c->scope->model_pages.v[k - c->scope->pages.n];
		if (pg >= d->arena_npages || idset_has(&done, pg) || idset_add(&done, pg) != 0)
			continue;
		page_attrs(c, pg, x->page_mod[first + pg] != 0, x->page_ref[first + pg] != 0);
	}
	idset_free(&done);
}

/* every arena page, against the walk's managed PTEs */
void inv_model_attrs(struct check *c)
{
	const struct snapshot *s = c->cur;
	const struct pts_descriptor *d = c->d;
	size_t n = d->arena_npages;
	if (c->scope != NULL) {
		scoped_attrs(c);
		return;
	}
	uint8_t *mod = calloc(n, 1), *ref = calloc(n, 1);
	for (size_t i = 0; mod && ref && i < s->walk.nleaf; i++) {
		const struct leaf *l = &s->walk.leaf[i];
		int64_t pg = arena_index_of(d, pte_frame(l->pte, l->level));
		if (!leaf_is_user(c, l) || !(l->pte & d->pte_managed_bit) || pg < 0)
			continue;
		mod[pg] |= (l->pte & PG_M) != 0;
		ref[pg] |= (l->pte & PG_U) != 0;
	}
	for (size_t pg = 0; mod && ref && pg < n; pg++)
		page_attrs(c, pg, mod[pg], ref[pg]);
	free(mod);
	free(ref);
}

void inv_model_contents(struct check *c)
{
	uint8_t a[PTS_PAGE_SIZE], b[PTS_PAGE_SIZE];
	const struct pts_descriptor *d = c->d;
	if (!(op_is(c, PTS_OP_ZERO) || op_is(c, PTS_OP_COPY)) || c->op->result != PTS_RES_OK ||
	    c->op->page >= d->arena_npages ||
	    (op_is(c, PTS_OP_COPY) && c->op->page2 >= d->arena_npages))
		return;
	gpa_t src = (d->arena_first_pfn + c->op->page) << PTS_PAGE_SHIFT;
	gpa_t dst =
	    op_is(c, PTS_OP_COPY) ? (d->arena_first_pfn + c->op->page2) << PTS_PAGE_SHIFT : src;
	memset(b, 0, sizeof b);
	if (gmem_read(c->m->mem, dst, a, sizeof a) != 0 ||
	    (op_is(c, PTS_OP_COPY) && gmem_read(c->m->mem, src, b, sizeof b) != 0))
		return;
	if (memcmp(a, b, sizeof a) != 0)
		vio_page(vio(c, op_is(c, PTS_OP_ZERO)
		                    ? "page not zero after zero"
		                    : "destination differs from source after copy"),
		         c, dst);
}

static bool page_md_equal(const struct vmp *a, const struct vmp *b)
{
	return a->attrs == b->attrs && a->flags == b->flags && a->pmap_count == b->pmap_count &&
	       a->writeable_count == b->writeable_count && a->pv_list == b->pv_list;
}

/* vm_pages whose md state the op changed: all compared in full, the changed ones otherwise */
static void enomem_pages(struct check *c)
{
	const struct snapshot *s = c->cur, *p = c->prev;
	for (uint64_t i = 0; p != NULL && i < s->nvmp && i < p->nvmp; i++)
		if (s->vmp[i].usage == PTS_PG_ARENA && !page_md_equal(&s->vmp[i], &p->vmp[i]))
			vio_page(vio(c, "failed op changed the page's md state"), c,
			         (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT);
	for (size_t k = 0; p == NULL && c->inc != NULL && k < c->inc->sc.nvmp; k++) {
		uint64_t i = c->inc->sc.vmp[k].index;
		if (s->vmp[i].usage == PTS_PG_ARENA &&
		    !page_md_equal(&s->vmp[i], &c->inc->sc.vmp[k].old))
			vio_page(vio(c, "failed op changed the page's md state"), c,
			         (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT);
	}
}

void inv_model_enomem(struct check *c)
{
	check_model_findings(c);
	if (c->mout == NULL || !c->mout->unchanged || c->prev_pmap == NULL)
		return;
	const struct snapshot *s = c->cur;
	const struct pmap_snap *p = c->prev_pmap;
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (ch->slot < 0 || pte_hw_update(ch->old, ch->new))
			continue;
		struct violation *v = vio(c, "failed op (%s) changed a user page-table entry",
		                          result_name(c->op->result));
		vio_pte(v, ch->slot, ch->va, ch->level, ch->old, ch->new);
		break;
	}
	for (uint32_t o = 1; o < s->npmap && o < c->prev_npmap; o++)
		if (s->pmap[o].live && p[o].live && s->pmap[o].kva == p[o].kva &&
		    (s->pmap[o].resident != p[o].resident || s->pmap[o].wired != p[o].wired ||
		     s->pmap[o].ptp_count != p[o].ptp_count))
			vio_pmap(vio(c, "failed op changed pmap counters"), c, s, o);
	enomem_pages(c);
	if (s->pool.ok && c->prev_pool_ok && s->pool.nout != c->prev_nout)
		vio_counter(vio(c, "failed op changed the pool's nout"), "pr_nout", c->prev_nout,
		            s->pool.nout);
}
