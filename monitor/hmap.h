/* monitor/hmap.h - a small open-addressing hash map from uint64_t keys to
 * uint64_t values, for the monitor's indexes (PTP by PA, pv by (pmap, va), ...).
 */
#ifndef MONITOR_HMAP_H
#define MONITOR_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap {
	uint64_t *keys;
	uint64_t *vals;
	uint8_t *used;
	size_t cap; /* power of two, or 0 */
	size_t len;
};

void hmap_init(struct hmap *h);
void hmap_free(struct hmap *h);
void hmap_clear(struct hmap *h);
/* 0, or -1 when out of memory.  Replaces the value of an existing key. */
int hmap_put(struct hmap *h, uint64_t key, uint64_t val);
/* true and *val set if key is present (val may be NULL). */
bool hmap_get(const struct hmap *h, uint64_t key, uint64_t *val);
/* Removes key; false if it was absent. */
bool hmap_del(struct hmap *h, uint64_t key);

#endif /* MONITOR_HMAP_H */
