/* monitor/snap_pmap.c - the pmap records of a snapshot: the list read
 * through the descriptor (cycle and length bounded), and the ids that stay
 * with a pmap from one snapshot to the next.
 */
#include <stdlib.h>
#include <string.h>

#include "snap.h"
#include "violation.h"

int32_t snap_pmap_by_kva(const struct snapshot *s, uint64_t kva)
{
	for (size_t i = 0; i < s->npmap; i++)
		if (s->pmap[i].live && s->pmap[i].kva == kva)
			return (int32_t)i;
	return -1;
}

int32_t snap_pmap_by_slot(const struct snapshot *s, uint32_t slot)
{
	for (size_t i = 1; i < s->npmap; i++)
		if (s->pmap[i].live && s->pmap[i].slot == slot)
			return (int32_t)i;
	return -1;
}

int32_t snap_slot(const struct snapshot *s, uint32_t owner)
{
	if (owner == 0 || owner >= s->npmap || !s->pmap[owner].live)
		return owner == 0 ? VIO_SLOT_KERNEL : VIO_SLOT_NONE;
	return (int32_t)s->pmap[owner].slot;
}

static bool id_free(const struct snapshot *prev, size_t j)
{
	return prev == NULL || j >= prev->npmap || !prev->pmap[j].live;
}

void snap_assign_ids(const struct pmap_snap *list, size_t n, const struct snapshot *prev,
                     uint32_t *id)
{
	bool used[SNAP_MAX_PMAPS] = {true};
	id[0] = 0;
	for (size_t i = 1; i < n; i++) {
		id[i] = UINT32_MAX;
		for (size_t j = 1; prev != NULL && j < prev->npmap && id[i] == UINT32_MAX; j++)
			if (prev->pmap[j].live && !used[j] && prev->pmap[j].kva == list[i].kva &&
			    prev->pmap[j].slot == list[i].slot)
				id[i] = (uint32_t)j, used[j] = true;
	}
	for (size_t i = 1; i < n; i++) /* new pmaps: ids prev left free first */
		for (int pass = 0; pass < 2 && id[i] == UINT32_MAX; pass++)
			for (size_t j = 1; j < SNAP_MAX_PMAPS && id[i] == UINT32_MAX; j++)
				if (!used[j] && (pass == 1 || id_free(prev, j)))
					id[i] = (uint32_t)j, used[j] = true;
}

/* the pmaps read in list order go to their ids */
static void place_pmaps(struct snapshot *s, const struct snapshot *prev, size_t hash_size)
{
	struct pmap_snap list[SNAP_MAX_PMAPS];
	uint32_t id[SNAP_MAX_PMAPS];
	size_t n = s->npmap;
	memcpy(list, s->pmap, n * sizeof *list);
	memcpy(s->hash_tmp, s->hash, n * hash_size * 8);
	snap_assign_ids(list, n, prev, id);
	memset(s->pmap, 0, sizeof s->pmap);
	s->npmap = 0;
	for (size_t i = 0; i < n; i++) {
		struct pmap_snap *p = &s->pmap[id[i]];
		*p = list[i];
		p->live = true;
		p->hash_off = id[i] * hash_size;
		memcpy(s->hash + p->hash_off, s->hash_tmp + i * hash_size, hash_size * 8);
		if (id[i] + 1 > s->npmap)
			s->npmap = id[i] + 1;
	}
}

/* ---- reading */

int snap_read_pmap_record(struct kview *kv, uint64_t kva, bool kernel, struct pmap_snap *p,
                          uint64_t *hash)
{
	const struct pts_descriptor *d = kv->d;
	uint8_t buf[PTS_PAGE_SIZE];
	if (kva_read(kv, kva, buf, d->pmap_size) != 0)
		return -1;
	p->kva = kva;
	p->kernel = kernel;
	p->root = le_field(buf, d->off_pm_pml4_pa, 8);
	p->resident = le_field(buf, d->off_pm_resident_count, 8);
	p->wired = le_field(buf, d->off_pm_wired_count, 8);
	p->next = le_field(buf, d->off_pm_next, 8);
	p->slot = (uint32_t)le_field(buf, d->off_pm_slot, 4);
	p->ptp_count = (uint32_t)le_field(buf, d->off_pm_ptp_count, 4);
	p->active = d->smp != 0 ? (uint32_t)le_field(buf, d->off_pm_active, 4) : 0;
	p->lock = (uint32_t)le_field(buf, d->off_pm_lock, 4);
	for (uint32_t b = 0; b < d->ptp_hash_size; b++)
		hash[b] = le_field(buf, d->off_pm_ptp_hash + 8 * b, 8);
	return 0;
}

static int read_pmap(struct snapshot *s, struct kview *kv, uint64_t kva, bool kernel)
{
	struct pmap_snap *p = &s->pmap[s->npmap];
	size_t hash_off = s->npmap * kv->d->ptp_hash_size;
	if (snap_read_pmap_record(kv, kva, kernel, p, s->hash + hash_off) != 0) {
		struct snap_issue *i =
		    snap_issue(s, "AS-5", "pmap at kva 0x%llx unreadable", (unsigned long long)kva);
		if (i)
			i->kva = kva;
		return -1;
	}
	p->hash_off = hash_off;
	s->npmap++;
	return 0;
}

/* the pmap list, in list order (cycle and length checked) */
static int read_pmap_list(struct snapshot *s, struct kview *kv)
{
	const struct pts_descriptor *d = kv->d;
	uint64_t next;
	s->npmap = 0;
	if (s->hash == NULL && (s->hash = calloc(SNAP_MAX_PMAPS, 8ull * d->ptp_hash_size)) == NULL)
		return -1;
	if (s->hash_tmp == NULL &&
	    (s->hash_tmp = calloc(SNAP_MAX_PMAPS, 8ull * d->ptp_hash_size)) == NULL)
		return -1;
	if (read_pmap(s, kv, d->kernel_pmap, true) != 0) {
		memset(&s->pmap[0], 0, sizeof s->pmap[0]);
		s->pmap[0].kernel = true;
		s->npmap = 1;
	}
	kv->kernel_root = s->pmap[0].root;
	kview_flush(kv);
	if (kva_read_u64(kv, d->curpmap, &s->curpmap) != 0)
		snap_issue(s, "AS-5", "curpmap word at kva 0x%llx unreadable",
		           (unsigned long long)d->curpmap);
	if (kva_read_u64(kv, d->pmap_list, &next) != 0) {
		snap_issue(s, "AS-5", "pmap_list word at kva 0x%llx unreadable",
		           (unsigned long long)d->pmap_list);
		return 0;
	}
	while (next != 0) {
		if (snap_pmap_by_kva(s, next) >= 0) {
			snap_issue(s, "AS-5", "pmap list revisits pmap 0x%llx (cycle)",
			           (unsigned long long)next);
			break;
		}
		if (s->npmap == SNAP_MAX_PMAPS) {
			snap_issue(s, "AS-5", "pmap list longer than %u entries", PTS_MAX_PMAPS);
			break;
		}
		if (read_pmap(s, kv, next, false) != 0)
			break;
		next = s->pmap[s->npmap - 1].next;
	}
	return 0;
}

int snap_read_pmaps(struct snapshot *s, struct kview *kv, const struct snapshot *prev)
{
	if (read_pmap_list(s, kv) != 0)
		return -1;
	place_pmaps(s, prev, kv->d->ptp_hash_size);
	return 0;
}
