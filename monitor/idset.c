/* monitor/idset.c - ordered id sets for the incremental check's scopes. */
#include "array.h"
#include "idset.h"

#include <stdlib.h>
#include <string.h>

void idset_init(struct idset *s)
{
	memset(s, 0, sizeof *s);
	hmap_init(&s->index);
}

void idset_free(struct idset *s)
{
	hmap_free(&s->index);
	free(s->v);
	idset_init(s);
}

void idset_clear(struct idset *s)
{
	/* a big clear (after a collect) would cost a memset of the whole map */
	if (s->index.cap > 4 * s->n + 1024)
		hmap_free(&s->index);
	else if (s->n > 0)
		hmap_clear(&s->index);
	s->n = 0;
}

int idset_add(struct idset *s, uint64_t id)
{
	if (hmap_get(&s->index, id, NULL))
		return 0;
	if (ARRAY_GROW(s->v, s->cap, s->n, 64) != 0)
		return -1;
	if (hmap_put(&s->index, id, s->n) != 0)
		return -1;
	s->v[s->n++] = id;
	return 0;
}

bool idset_has(const struct idset *s, uint64_t id)
{
	return hmap_get(&s->index, id, NULL);
}
