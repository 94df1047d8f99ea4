/* monitor/scope.c - the objects an op touched: clearing, old vm_page fields,
 * and what the op itself says it changes in the model (mappings, kenter
 * window pages, mod/ref predictions), noted before the model steps.
 */
#include "scope.h"

#include <stdlib.h>
#include <string.h>

#include "incr.h"
#include "monitor_impl.h"

static struct idset *sets(struct scope *sc, size_t *n)
{
	*n = (size_t)(&sc->model_pages - &sc->pages) + 1;
	return &sc->pages;
}

void scope_init(struct scope *sc)
{
	size_t n;
	memset(sc, 0, sizeof *sc);
	struct idset *s = sets(sc, &n);
	for (size_t i = 0; i < n; i++)
		idset_init(&s[i]);
}

void scope_free(struct scope *sc)
{
	size_t n;
	struct idset *s = sets(sc, &n);
	for (size_t i = 0; i < n; i++)
		idset_free(&s[i]);
	free(sc->vmp);
	scope_init(sc);
}

void scope_clear(struct scope *sc)
{
	size_t n;
	struct idset *s = sets(sc, &n);
	for (size_t i = 0; i < n; i++)
		idset_clear(&s[i]);
	sc->nvmp = 0;
	sc->pool_changed = sc->dmap_changed = sc->kernel_root_changed = sc->curpmap_changed = false;
	sc->pmaps_changed = false;
}

int scope_vmp_change(struct scope *sc, uint64_t index, const struct vmp *old)
{
	if (sc->nvmp == sc->vmp_cap) {
		size_t n = sc->vmp_cap ? sc->vmp_cap * 2 : 64;
		struct vmp_change *v = realloc(sc->vmp, n * sizeof *v);
		if (v == NULL)
			return -1;
		sc->vmp = v;
		sc->vmp_cap = n;
	}
	sc->vmp[sc->nvmp++] = (struct vmp_change){index, *old};
	return 0;
}

/* ---- what the op changes in the model */

/* the model's mappings of slot in [va, end) (before the op steps it) */
static int model_range(struct scope *sc, const struct model *m, uint32_t slot, uint64_t va,
                       uint64_t end)
{
	size_t n;
	const struct model_map *maps = model_maps(m, slot, &n);
	for (size_t i = model_first(m, slot, va); i < n && maps[i].va < end; i++)
		if (idset_add(&sc->model_keys, scope_key(slot, maps[i].va)) != 0)
			return -1;
	return 0;
}

static int model_page(struct scope *sc, const struct model *m, uint64_t page)
{
	for (uint32_t slot = 0; slot < PTS_MAX_PMAPS; slot++) {
		size_t n;
		const struct model_map *maps = model_maps(m, slot, &n);
		for (size_t i = 0; i < n; i++)
			if (maps[i].page == page &&
			    idset_add(&sc->model_keys, scope_key(slot, maps[i].va)) != 0)
				return -1;
	}
	return 0;
}

static int kenter_range(struct scope *sc, const struct model *m, uint64_t va, uint64_t end)
{
	for (uint64_t k = va / PTS_PAGE_SIZE; k < end / PTS_PAGE_SIZE && k < m->nkenter; k++)
		if (idset_add(&sc->kenter, k) != 0)
			return -1;
	return 0;
}

int incr_scope_op(struct monitor *m, const struct pts_op *op)
{
	struct scope *sc = &m->inc.sc;
	const struct model *mo = &m->model;
	uint64_t end = op->end ? op->end : op->va + PTS_PAGE_SIZE;
	const struct model_map *e;
	scope_clear(sc);
	switch (op->kind) {
	case PTS_OP_ENTER:
	case PTS_OP_UNWIRE:
		return idset_add(&sc->model_keys, scope_key(op->pmap, op->va));
	case PTS_OP_REMOVE:
	case PTS_OP_PROTECT:
		return op->pmap < PTS_MAX_PMAPS && end > op->va
		           ? model_range(sc, mo, op->pmap, op->va, end)
		           : 0;
	case PTS_OP_DESTROY:
	case PTS_OP_COLLECT:
		return op->pmap < PTS_MAX_PMAPS ? model_range(sc, mo, op->pmap, 0, UINT64_MAX) : 0;
	case PTS_OP_PAGE_PROTECT:
		return model_page(sc, mo, op->page);
	case PTS_OP_KENTER:
	case PTS_OP_KREMOVE:
		return end > op->va ? kenter_range(sc, mo, op->va, end) : 0;
	case PTS_OP_TOUCH:
		e = op->pmap < PTS_MAX_PMAPS ? model_lookup(mo, op->pmap, op->va) : NULL;
		return e != NULL ? idset_add(&sc->model_pages, e->page) : 0;
	case PTS_OP_CLEAR_MODIFY:
	case PTS_OP_CLEAR_REFERENCE:
	case PTS_OP_IS_MODIFIED:
	case PTS_OP_IS_REFERENCED:
		return idset_add(&sc->model_pages, op->page);
	}
	return 0;
}
