/* monitor/incr_snap.c - the incremental update of the pmap records and the
 * vm_page array: re-read a pmap or a stretch of the array only where the
 * guest wrote, and keep the old fields of every vm_page that changed.
 */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "desc.h"
#include "incr_plan.h"

/* ---- pmaps */

static bool kva_clean(struct kview *kv, uint64_t kva, uint64_t len)
{
	gpa_t a, b;
	if (kva_to_gpa(kv, kva, &a) != 0 || kva_to_gpa(kv, kva + len - 1, &b) != 0)
		return false;
	return !gmem_page_dirty(kv->mem, a) && !gmem_page_dirty(kv->mem, b);
}

/* the next pmap of the list at kva: the old record when its pages are clean */
static int plan_one_pmap(struct pmap_plan *pp, const struct snapshot *s, struct kview *kv,
                         uint64_t kva)
{
	const struct pts_descriptor *d = kv->d;
	size_t i = pp->nlist, off = i * d->ptp_hash_size;
	struct pmap_snap *p = &pp->list[i];
	int32_t old = i == 0 ? 0 : snap_pmap_by_kva(s, kva);
	for (size_t j = 0; j < i; j++)
		if (pp->list[j].kva == kva)
			return -1; /* a cycle */
	if (i == SNAP_MAX_PMAPS)
		return -1;
	if (old >= 0 && s->pmap[old].kva == kva && kva_clean(kv, kva, d->pmap_size)) {
		*p = s->pmap[old];
		memcpy(pp->list_hash + off, s->hash + s->pmap[old].hash_off,
		       8ull * d->ptp_hash_size);
	} else if (snap_read_pmap_record(kv, kva, i == 0, p, pp->list_hash + off) != 0) {
		return -1;
	}
	pp->nlist++;
	return 0;
}

/* the list by id, as a full read would place it */
static void place(struct pmap_plan *pp, const struct snapshot *s, size_t hash_size)
{
	uint32_t id[SNAP_MAX_PMAPS];
	snap_assign_ids(pp->list, pp->nlist, s, id);
	memset(pp->pmap, 0, sizeof pp->pmap);
	pp->npmap = 0;
	for (size_t i = 0; i < pp->nlist; i++) {
		struct pmap_snap *p = &pp->pmap[id[i]];
		*p = pp->list[i];
		p->live = true;
		p->hash_off = id[i] * hash_size;
		memcpy(pp->hash + p->hash_off, pp->list_hash + i * hash_size, 8 * hash_size);
		if (id[i] + 1 > pp->npmap)
			pp->npmap = id[i] + 1;
	}
}

/* what changed per id; 1 when a pmap kept its id but not its root */
static int compare(struct pmap_plan *pp, const struct snapshot *s, size_t hash_size)
{
	size_t n = pp->npmap > s->npmap ? pp->npmap : s->npmap;
	pp->relisted = false;
	for (size_t i = 0; i < n; i++) {
		const struct pmap_snap *a = &pp->pmap[i], *b = &s->pmap[i];
		pp->changed[i] = a->live != b->live;
		pp->relisted |= a->live != b->live;
		if (!a->live || !b->live)
			continue;
		if (a->root != b->root || a->kernel != b->kernel)
			return 1;
		pp->changed[i] =
		    a->resident != b->resident || a->wired != b->wired || a->next != b->next ||
		    a->ptp_count != b->ptp_count || a->active != b->active || a->lock != b->lock ||
		    memcmp(pp->hash + a->hash_off, s->hash + b->hash_off, 8 * hash_size) != 0;
	}
	return 0;
}

int pmap_plan(struct pmap_plan *pp, const struct snapshot *s, struct kview *kv, bool *fallback)
{
	const struct pts_descriptor *d = kv->d;
	uint64_t next;
	*fallback = true;
	pp->nlist = 0;
	if ((pp->hash == NULL &&
	     (pp->hash = calloc(SNAP_MAX_PMAPS, 8ull * d->ptp_hash_size)) == NULL) ||
	    (pp->list_hash == NULL &&
	     (pp->list_hash = calloc(SNAP_MAX_PMAPS, 8ull * d->ptp_hash_size)) == NULL))
		return -1;
	if (plan_one_pmap(pp, s, kv, d->kernel_pmap) != 0 ||
	    kva_read_u64(kv, d->curpmap, &pp->curpmap) != 0 ||
	    kva_read_u64(kv, d->pmap_list, &next) != 0)
		return 0;
	for (; next != 0; next = pp->list[pp->nlist - 1].next)
		if (plan_one_pmap(pp, s, kv, next) != 0)
			return 0; /* unreadable, a cycle, too long: a fresh read tells */
	place(pp, s, d->ptp_hash_size);
	*fallback = compare(pp, s, d->ptp_hash_size) != 0;
	return 0;
}

/* walk roots by id as the op leaves them, over every id the snapshot or the plan uses */
size_t pmap_plan_roots(const struct pmap_plan *pp, const struct snapshot *s,
                       struct walk_root *roots)
{
	size_t n = pp->npmap > s->npmap ? pp->npmap : s->npmap;
	for (size_t i = 0; i < n; i++)
		roots[i] =
		    (struct walk_root){pp->pmap[i].root, pp->pmap[i].kernel, !pp->pmap[i].live};
	return n;
}

/* a pmap that came brings its root: a table no changed entry leads to, so in the scope here */
int pmap_commit(struct snapshot *s, const struct pmap_plan *pp, const struct pts_descriptor *d,
                struct scope *sc)
{
	size_t n = pp->npmap > s->npmap ? pp->npmap : s->npmap;
	for (size_t i = 0; i < n; i++) {
		if (!pp->changed[i])
			continue;
		bool came = pp->pmap[i].live && !(i < s->npmap && s->pmap[i].live);
		s->pmap[i] = pp->pmap[i];
		if (pp->pmap[i].live)
			memcpy(s->hash + s->pmap[i].hash_off, pp->hash + pp->pmap[i].hash_off,
			       8ull * d->ptp_hash_size);
		if (idset_add(&sc->owners, i) != 0 ||
		    (came && idset_add(&sc->tables, pp->pmap[i].root) != 0))
			return -1;
	}
	s->npmap = pp->npmap;
	sc->pmaps_changed = pp->relisted;
	sc->curpmap_changed = s->curpmap != pp->curpmap;
	s->curpmap = pp->curpmap;
	return 0;
}

/* ---- vm_page array */

static uint64_t array_start(const struct pts_descriptor *d)
{
	return d->vm_page_array & ~(uint64_t)(PTS_PAGE_SIZE - 1);
}

/* guest-physical page of array page p, translated again when the kernel remapped it */
static int array_gpa(struct incr *x, struct kview *kv, size_t p, gpa_t *gpa)
{
	uint64_t kva = array_start(kv->d) + p * PTS_PAGE_SIZE;
	if (va_ranges_meet(&x->kranges, kva, PTS_PAGE_SIZE) || x->array_gpa[p] == UINT64_MAX) {
		gpa_t g;
		if (kva_to_gpa(kv, kva > kv->d->vm_page_array ? kva : kv->d->vm_page_array, &g) !=
		    0)
			return -1;
		x->array_gpa[p] = g & ~(uint64_t)(PTS_PAGE_SIZE - 1);
		*gpa = x->array_gpa[p];
		return 1; /* moved: read it whether written or not */
	}
	*gpa = x->array_gpa[p];
	return 0;
}

static int plan_vmp(struct vmp_plan *vp, const struct snapshot *s, struct kview *kv, uint64_t i,
                    bool *bad)
{
	const struct pts_descriptor *d = kv->d;
	size_t size = d->vm_page_size;
	if (array_reserve(&vp->index, &vp->cap, vp->n + 1, sizeof *vp->index, 64) != 0 ||
	    array_reserve(&vp->raw, &vp->raw_cap, (vp->n + 1) * size, 1, 64) != 0)
		return -1;
	uint8_t *b = vp->raw + vp->n * size;
	if (kva_read(kv, d->vm_page_array + i * size, b, size) != 0) {
		*bad = true;
		return 0;
	}
	if (memcmp(b, s->vmp_raw + i * size, size) != 0)
		vp->index[vp->n++] = i;
	return 0;
}

/* the vm_pages on array page p: read each, keep those whose bytes changed */
static int plan_array_page(struct vmp_plan *vp, const struct snapshot *s, struct kview *kv,
                           size_t p, uint64_t *next, bool *bad)
{
	const struct pts_descriptor *d = kv->d;
	uint64_t size = d->vm_page_size, end = d->vm_page_array + d->vm_page_count * size;
	uint64_t lo = array_start(d) + p * PTS_PAGE_SIZE, hi = lo + PTS_PAGE_SIZE;
	lo = lo < d->vm_page_array ? d->vm_page_array : lo;
	hi = hi > end ? end : hi;
	uint64_t first = (lo - d->vm_page_array) / size, last = (hi - 1 - d->vm_page_array) / size;
	for (uint64_t i = first > *next ? first : *next; i <= last && !*bad; i++)
		if (plan_vmp(vp, s, kv, i, bad) != 0)
			return -1;
	*next = last + 1; /* a vm_page across two written pages is read once */
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* the array pages on the pages the guest wrote, in order */
static int listed_pages(struct vmp_plan *vp, const struct incr *x)
{
	uint64_t p;
	vp->npages = 0;
	for (size_t k = 0; k < x->ndirty; k++) {
		if (!hmap_get(&x->array_by_gpa, x->dirty[k] << PTS_PAGE_SHIFT, &p))
			continue;
		if (array_reserve(&vp->pages, &vp->pages_cap, vp->npages + 1, sizeof *vp->pages,
		                  64) != 0)
			return -1;
		vp->pages[vp->npages++] = (size_t)p;
	}
	if (vp->npages > 1) /* pages is NULL until one is listed; qsort's base must not be */
		qsort(vp->pages, vp->npages, sizeof *vp->pages, cmp_size);
	return 0;
}

int vmp_plan(struct vmp_plan *vp, const struct snapshot *s, struct kview *kv, struct incr *x,
             bool *fallback)
{
	uint64_t next = 0;
	bool bad = false,
	     listed = x->listed && !x->array_aliased &&
	              !va_ranges_meet(&x->kranges, array_start(kv->d), x->narray * PTS_PAGE_SIZE);
	vp->n = 0;
	if (listed && listed_pages(vp, x) != 0)
		return -1;
	for (size_t k = 0; listed && k < vp->npages && !bad; k++)
		if (plan_array_page(vp, s, kv, vp->pages[k], &next, &bad) != 0)
			return -1;
	for (size_t p = 0; !listed && p < x->narray && !bad; p++) {
		gpa_t gpa;
		int moved =
		    x->kranges.n == 0 ? (gpa = x->array_gpa[p], 0) : array_gpa(x, kv, p, &gpa);
		if (moved < 0 || (moved == 0 && !gmem_page_dirty(kv->mem, gpa))) {
			bad = moved < 0;
			continue;
		}
		if (plan_array_page(vp, s, kv, p, &next, &bad) != 0)
			return -1;
	}
	*fallback = bad;
	return 0;
}

int vmp_commit(struct snapshot *s, const struct vmp_plan *vp, const struct pts_descriptor *d,
               struct scope *sc)
{
	size_t size = d->vm_page_size;
	for (size_t k = 0; k < vp->n; k++) {
		uint64_t i = vp->index[k];
		if (scope_vmp_change(sc, i, &s->vmp[i]) != 0 || idset_add(&sc->pages, i) != 0)
			return -1;
		memcpy(s->vmp_raw + i * size, vp->raw + k * size, size);
		snap_parse_vm_page(d, vp->raw + k * size, &s->vmp[i]);
	}
	return 0;
}
