/* monitor/inv_smp_unlock.c - SMP-7: a CPU drops a user pmap's lock only
 * after every CPU its shootdowns for that pmap went to has invalidated
 * (docs/smp.md, "Unlocks in the ledger").  From the op's own ledger records:
 * a SHOOT names the pmap's root and the CPU set, an UNLOCK the root whose
 * lock its CPU drops, and each CPU's invalidations (a CR3 load included)
 * follow in the same seq order.  Otherwise another CPU may take the lock
 * and build on a PTE that a target still caches (the late shootdown still
 * completes before the op returns, so SMP-3 alone cannot see it).
 */
#include <stdio.h>
#include <string.h>

#include "check_ctx.h"
#include "pte.h"

#define OWED_ROOTS 8u /* user pmaps one CPU owes shootdowns for at once */

/* one CPU's shootdowns not yet settled by an unlock: per root, per target,
 * 1 + the seq of the latest SHOOT record sent to it (0: none) */
struct owed {
	uint64_t root[OWED_ROOTS];
	uint64_t need[OWED_ROOTS][PTS_MAX_CPUS];
	unsigned n;
};

struct unlock_state {
	uint64_t last[PTS_MAX_CPUS]; /* 1 + seq of each CPU's last invalidation (0: none) */
	struct owed owed[PTS_MAX_CPUS];
};

static int owed_at(const struct owed *o, uint64_t root)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->root[i] == root)
			return (int)i;
	return -1;
}

/* a SHOOT of a user pmap: its targets owe an invalidation after it */
static void note_shoot(struct unlock_state *u, const struct pts_tlb_record *r)
{
	struct owed *o = &u->owed[r->cpu];
	int i = owed_at(o, r->va & PG_FRAME);

	if (i < 0 && o->n == OWED_ROOTS)
		return; /* more roots than a pmap op locks at once: not judged */
	if (i < 0) {
		i = (int)o->n++;
		o->root[i] = r->va & PG_FRAME;
		memset(o->need[i], 0, sizeof o->need[i]);
	}
	for (uint32_t cpu = 0; cpu < PTS_MAX_CPUS; cpu++)
		if ((r->end >> cpu) & 1)
			o->need[i][cpu] = r->seq + 1;
}

static void unlock_early(struct check *c, const struct pts_tlb_record *r, uint32_t cpu,
                         uint64_t shoot_seq)
{
	int32_t slot = -1;

	for (size_t i = 1; i < c->cur->npmap && slot < 0; i++)
		if (c->cur->pmap[i].live && c->cur->pmap[i].root == (r->va & PG_FRAME))
			slot = (int32_t)i;
	struct violation *v =
	    vio(c,
	        "cpu%u dropped the lock of the pmap with root 0x%llx (ledger record %llu) before "
	        "cpu%u invalidated for its shootdown (record %llu): another CPU may take the "
	        "lock and build on a PTE cpu%u still caches",
	        r->cpu, (unsigned long long)(r->va & PG_FRAME), (unsigned long long)r->seq, cpu,
	        (unsigned long long)shoot_seq, cpu);
	if (slot >= 0)
		vio_pmap(v, c, c->cur, (uint32_t)slot);
}

/* an UNLOCK: every target of the root's SHOOTs invalidated since them */
static void note_unlock(struct check *c, struct unlock_state *u, const struct pts_tlb_record *r)
{
	struct owed *o = &u->owed[r->cpu];
	int i = owed_at(o, r->va & PG_FRAME);

	if (i < 0)
		return;
	for (uint32_t cpu = 0; cpu < PTS_MAX_CPUS; cpu++)
		if (o->need[i][cpu] != 0 && u->last[cpu] <= o->need[i][cpu])
			unlock_early(c, r, cpu, o->need[i][cpu] - 1);
	o->n--;
	o->root[i] = o->root[o->n];
	memcpy(o->need[i], o->need[o->n], sizeof o->need[i]);
}

void inv_smp_unlock_after_invalidate(struct check *c)
{
	struct unlock_state u;

	if (c->op == NULL || !c->tlb_known || (c->smp->known && !c->smp->ok))
		return;
	memset(&u, 0, sizeof u);
	for (size_t i = 0; i < c->ntlb; i++) {
		const struct pts_tlb_record *r = &c->tlb[i];
		if (r->cpu >= PTS_MAX_CPUS)
			continue; /* SMP-4 reports it */
		if (tlb_record_invalidates(r))
			u.last[r->cpu] = r->seq + 1;
		else if (r->kind == PTS_TLB_SHOOT && r->va != PTS_TLB_SHOOT_KERNEL)
			note_shoot(&u, r);
		else if (r->kind == PTS_TLB_UNLOCK)
			note_unlock(c, &u, r);
	}
}
