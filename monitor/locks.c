/* monitor/locks.c - reading the guest's lock words at a stop: the global
 * locks one word each, the pv-list locks a page of the array at a time.
 * Guest memory is hostile input: counts and spans are the descriptor's,
 * bounded by desc_validate, and every read goes through the KVA view.
 */
#include "locks.h"

#include <stdio.h>
#include <string.h>

static const char *const lock_names[PTS_LOCK_KINDS] = {
    [PTS_LOCK_SHOOTDOWN] = "the shootdown lock",    [PTS_LOCK_POOL] = "the pv pool lock",
    [PTS_LOCK_VM_PAGE] = "the free page list lock", [PTS_LOCK_PMAP_LIST] = "the pmap list lock",
    [PTS_LOCK_LEDGER] = "the TLB ledger lock",
};

void lock_owner(const struct pts_descriptor *d, uint32_t word, char *buf, size_t len)
{
	if (word >= d->lock_owner_base && word - d->lock_owner_base < PTS_MAX_CPUS)
		snprintf(buf, len, "cpu%u", word - d->lock_owner_base);
	else
		snprintf(buf, len, "no known CPU");
}

static void note_held(struct lock_view *v, const char *name, uint64_t kva, uint32_t word)
{
	if (v->nheld < LOCKS_HELD_MAX) {
		struct lock_held *h = &v->held[v->nheld];
		snprintf(h->name, sizeof h->name, "%s", name);
		h->kva = kva;
		h->word = word;
	}
	v->nheld++;
}

static void global_name(unsigned i, char *buf, size_t len)
{
	if (i < PTS_LOCK_KINDS)
		snprintf(buf, len, "%s", lock_names[i]);
	else
		snprintf(buf, len, "global lock %u", i);
}

/* names are made only for a finding: a stop where every lock is free costs
 * the reads alone */
static void read_global(struct kview *kv, struct lock_view *v, unsigned i)
{
	uint64_t kva = kv->d->locks[i];
	uint8_t b[4];
	char name[32];

	if (kva == 0 || !v->ok)
		return;
	if (kva_read(kv, kva, b, sizeof b) != 0) {
		v->ok = false;
		global_name(i, name, sizeof name);
		snprintf(v->issue, sizeof v->issue, "%s's word at kva 0x%llx unreadable", name,
		         (unsigned long long)kva);
		return;
	}
	if ((uint32_t)le_field(b, 0, 4) != kv->d->lock_free) {
		global_name(i, name, sizeof name);
		note_held(v, name, kva, (uint32_t)le_field(b, 0, 4));
	}
}

/* pv-list locks [first, first + n), whose words lie in one buffer of span bytes */
static int read_pv_run(struct kview *kv, struct lock_view *v, uint32_t first, uint32_t n)
{
	const struct pts_descriptor *d = kv->d;
	uint8_t b[PTS_PAGE_SIZE];
	uint64_t kva = d->pv_locks + (uint64_t)first * d->pv_lock_stride;
	size_t span = (size_t)(n - 1) * d->pv_lock_stride + 4;
	char name[48];

	if (kva_read(kv, kva, b, span) != 0) {
		v->ok = false;
		snprintf(v->issue, sizeof v->issue, "pv locks %u-%u at kva 0x%llx unreadable",
		         first, first + n - 1, (unsigned long long)kva);
		return -1;
	}
	for (uint32_t j = 0; j < n; j++) {
		uint32_t word = (uint32_t)le_field(b, (size_t)j * d->pv_lock_stride, 4);
		if (word == d->lock_free)
			continue;
		snprintf(name, sizeof name, "pv lock %u of %u", first + j, d->pv_lock_count);
		note_held(v, name, kva + (uint64_t)j * d->pv_lock_stride, word);
	}
	return 0;
}

void locks_read(struct kview *kv, struct lock_view *v)
{
	const struct pts_descriptor *d = kv->d;
	/* words per buffer: stride <= DESC_PV_LOCK_STRIDE_MAX < a page, so at least one */
	uint32_t per = (PTS_PAGE_SIZE - 4) / d->pv_lock_stride + 1;

	v->ok = true;
	v->issue[0] = '\0';
	v->nheld = 0;
	for (unsigned i = 0; i < PTS_LOCKS; i++)
		read_global(kv, v, i);
	for (uint32_t i = 0; v->ok && i < d->pv_lock_count; i += per)
		if (read_pv_run(kv, v, i,
		                d->pv_lock_count - i < per ? d->pv_lock_count - i : per) != 0)
			break;
}
