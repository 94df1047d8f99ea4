/* monitor/locks.h - the guest's global and pv-list lock words, read at every
 * stop through the descriptor (ABI 5; each pmap's own lock is read with its
 * record, snap.h): which are held, by which CPU (docs/smp.md, "Locks at a
 * stop").
 */
#ifndef MONITOR_LOCKS_H
#define MONITOR_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desc.h"

#define LOCKS_HELD_MAX 16u /* held locks kept for the findings; more are counted */

struct lock_held {
	char name[48]; /* "the shootdown lock", "pv lock 17 of 64" */
	uint64_t kva;
	uint32_t word;
};

struct lock_view {
	bool ok;         /* every word was read */
	char issue[160]; /* why not */
	size_t nheld;    /* held locks found, up to LOCKS_HELD_MAX kept in held[] */
	struct lock_held held[LOCKS_HELD_MAX];
};

/* Read every global and pv-list lock word the descriptor names (bounded by
 * desc_validate: at most DESC_PV_LOCKS_MAX words).  Never fails: an
 * unreadable word is in v->issue with v->ok false. */
void locks_read(struct kview *kv, struct lock_view *v);

/* the holder a held lock's word names: "cpu1", or "no known CPU" */
void lock_owner(const struct pts_descriptor *d, uint32_t word, char *buf, size_t len);

#endif /* MONITOR_LOCKS_H */
