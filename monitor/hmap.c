/* monitor/hmap.c - open addressing with linear probing.  Deletion shifts
 * the following run back (no tombstones), so a map updated in place for
 * every op (the incremental check) never degrades.
 */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

void hmap_init(struct hmap *h)
{
	memset(h, 0, sizeof *h);
}

void hmap_free(struct hmap *h)
{
	free(h->keys);
	free(h->vals);
	free(h->used);
	hmap_init(h);
}

void hmap_clear(struct hmap *h)
{
	if (h->used != NULL)
		memset(h->used, 0, h->cap);
	h->len = 0;
}

static size_t slot_of(const struct hmap *h, uint64_t key)
{
	size_t i = mix(key) & (h->cap - 1);
	while (h->used[i] && h->keys[i] != key)
		i = (i + 1) & (h->cap - 1);
	return i;
}

static int grow(struct hmap *h)
{
	struct hmap n;
	n.cap = h->cap ? h->cap * 2 : 64;
	n.len = 0;
	n.keys = malloc(n.cap * sizeof *n.keys);
	n.vals = malloc(n.cap * sizeof *n.vals);
	n.used = calloc(n.cap, 1);
	if (n.keys == NULL || n.vals == NULL || n.used == NULL) {
		hmap_free(&n);
		return -1;
	}
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->used[i])
			continue;
		size_t j = slot_of(&n, h->keys[i]);
		n.used[j] = 1;
		n.keys[j] = h->keys[i];
		n.vals[j] = h->vals[i];
		n.len++;
	}
	hmap_free(h);
	*h = n;
	return 0;
}

int hmap_put(struct hmap *h, uint64_t key, uint64_t val)
{
	if ((h->len + 1) * 2 > h->cap && grow(h) != 0)
		return -1;
	size_t i = slot_of(h, key);
	if (!h->used[i]) {
		h->used[i] = 1;
		h->keys[i] = key;
		h->len++;
	}
	h->vals[i] = val;
	return 0;
}

bool hmap_get(const struct hmap *h, uint64_t key, uint64_t *val)
{
	if (h->cap == 0)
		return false;
	size_t i = slot_of(h, key);
	if (!h->used[i])
		return false;
	if (val != NULL)
		*val = h->vals[i];
	return true;
}

/* is slot j's key, whose home is h, displaced past the hole at i? */
static bool may_fill(size_t i, size_t j, size_t home)
{
	return i <= j ? home <= i || home > j : home <= i && home > j;
}

bool hmap_del(struct hmap *h, uint64_t key)
{
	if (h->cap == 0)
		return false;
	size_t i = slot_of(h, key), mask = h->cap - 1;
	if (!h->used[i])
		return false;
	for (size_t j = (i + 1) & mask; h->used[j]; j = (j + 1) & mask) {
		if (!may_fill(i, j, mix(h->keys[j]) & mask))
			continue;
		h->keys[i] = h->keys[j];
		h->vals[i] = h->vals[j];
		i = j;
	}
	h->used[i] = 0;
	h->len--;
	return true;
}
