/* monitor/shadow.c - diff of two walks.  The shadow is the previous walk's
 * table copies; a later step feeds the walker a dirty-page list so that only
 * changed tables are re-read (walk_params.shadow), and the delta stays the
 * same.
 */
#include "array.h"
#include "shadow.h"

#include <stdlib.h>
#include <string.h>

#include "pte.h"

void pte_delta_init(struct pte_delta *d)
{
	memset(d, 0, sizeof *d);
}

void pte_delta_free(struct pte_delta *d)
{
	free(d->chg);
	pte_delta_init(d);
}

static int push(struct pte_delta *d, const struct pte_change *c)
{
	if (ARRAY_GROW(d->chg, d->cap, d->n, 64) != 0)
		return -1;
	d->chg[d->n++] = *c;
	return 0;
}

/* entries of table a (or zeros) against table b (or zeros) */
static int diff_tables(const struct ptp_set *old, const struct ptp *a, const struct ptp_set *cur,
                       const struct ptp *b, struct pte_delta *out)
{
	const struct ptp *t = b ? b : a;
	const uint64_t *ea = a ? ptp_entries(old, a) : NULL, *eb = b ? ptp_entries(cur, b) : NULL;
	uint32_t flags = a == NULL ? PTE_CHG_ATTACHED : b == NULL ? PTE_CHG_DETACHED : 0;
	for (unsigned i = 0; i < NPTEPG; i++) {
		uint64_t o = ea ? ea[i] : 0, n = eb ? eb[i] : 0;
		if (o == n)
			continue;
		struct pte_change c = {
		    t->owner, 0, t->level, canonical(t->va + i * level_span(t->level)), t->pa, i,
		    flags,    o, n};
		if (push(out, &c) != 0)
			return -1;
	}
	return 0;
}

int shadow_diff(const struct ptp_set *old, const struct ptp_set *cur, const uint32_t *owner_map,
                struct pte_delta *out)
{
	out->n = 0;
	for (size_t i = 0; i < old->nptp; i++) {
		const struct ptp *a = &old->ptp[i];
		uint32_t owner = owner_map[a->owner];
		const struct ptp *b =
		    owner == UINT32_MAX ? NULL : ptp_by_key(cur, owner, a->level, a->va);
		if (diff_tables(old, a, cur, b, out) != 0)
			return -1;
	}
	/* tables only in the new walk */
	struct hmap matched;
	hmap_init(&matched);
	for (size_t i = 0; i < old->nptp; i++) {
		const struct ptp *a = &old->ptp[i];
		uint32_t owner = owner_map[a->owner];
		if (owner != UINT32_MAX &&
		    hmap_put(&matched, ptp_key(owner, a->level, a->va), 1) != 0)
			goto enomem;
	}
	for (size_t i = 0; i < cur->nptp; i++) {
		const struct ptp *b = &cur->ptp[i];
		if (hmap_get(&matched, ptp_key(b->owner, b->level, b->va), NULL))
			continue;
		if (diff_tables(old, NULL, cur, b, out) != 0)
			goto enomem;
	}
	hmap_free(&matched);
	return 0;
enomem:
	hmap_free(&matched);
	return -1;
}
