/* monitor/idset.h - a set of uint64_t ids that remembers insertion order:
 * the incremental check's lists of objects an op touched (pages, tables,
 * owners, keys), deduplicated, iterated in O(members), cleared in O(members).
 */
#ifndef MONITOR_IDSET_H
#define MONITOR_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

struct idset {
	struct hmap index; /* id -> position in v */
	uint64_t *v;
	size_t n, cap;
};

void idset_init(struct idset *s);
void idset_free(struct idset *s);
void idset_clear(struct idset *s);
/* 0 (added or already there), -1 when out of memory */
int idset_add(struct idset *s, uint64_t id);
bool idset_has(const struct idset *s, uint64_t id);

#endif /* MONITOR_IDSET_H */
