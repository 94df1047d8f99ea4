/* monitor/scope.c - the objects an op touched: clearing, old vm_page fields,
 * and what the op changes in the model (mappings, kenter window pages,
 * mod/ref predictions), as the model tells while it steps (model_env).
 */
#include "array.h"
#include "scope.h"

#include <stdlib.h>
#include <string.h>

#include "bug.h"

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
	if (ARRAY_GROW(sc->vmp, sc->vmp_cap, sc->nvmp, 64) != 0)
		return -1;
	sc->vmp[sc->nvmp++] = (struct vmp_change){index, *old};
	return 0;
}

/* ---- what the op changes in the model */

int scope_model_changed(void *scope, enum model_change what, uint32_t slot, uint64_t x)
{
	struct scope *sc = scope;
	switch (what) {
	case MODEL_MAPPING:
		return idset_add(&sc->model_keys, scope_key(slot, x));
	case MODEL_PAGE:
		return idset_add(&sc->model_pages, x);
	case MODEL_KENTER:
		return idset_add(&sc->kenter, x);
	default:
		PTS_BUG("model change %d has no place in the scope (monitor/scope.c)", (int)what);
	}
}
