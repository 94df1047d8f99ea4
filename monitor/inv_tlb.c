/* monitor/inv_tlb.c - TLB family: every downgrade of a PTE the TLB may hold,
 * and every unlinked PTP, has a covering record in the op's ledger records.
 */
#include <string.h>

#include "check_ctx.h"
#include "monitor_impl.h"
#include "pte.h"

/* TLB-1 and TLB-2 judge the CPU that ran the op (SMP-3 the others); with one
 * CPU, CPU 0 by its doorbell's CR3, and every ledger record */
static uint32_t op_cpu(const struct check *c)
{
	if (c->op == NULL || smp_ncpus(c->smp) <= 1 || c->op->cpu >= smp_ncpus(c->smp) ||
	    c->ngroup > 1) /* a group's changes are several CPUs': SMP-3 judges each */
		return TLB_ANY_CPU;
	return c->op->cpu;
}

static bool owner_active(const struct check *c, const struct pte_change *ch)
{
	bool old = (ch->flags & PTE_CHG_DETACHED) != 0;
	const struct pmap_snap *pm = old ? c->prev_pmap : c->cur->pmap;
	size_t npmap = old ? c->prev_npmap : c->cur->npmap;
	if (ch->owner == 0)
		return true; /* the kernel half is in every address space */
	if (pm == NULL || ch->owner >= npmap || !pm[ch->owner].live)
		return false;
	gpa_t root = pm[ch->owner].root;
	uint32_t cpu = op_cpu(c);
	if (cpu != TLB_ANY_CPU) /* several CPUs: the roots of the one that ran the op */
		return root == c->root_before[cpu] || root == c->root_after[cpu];
	return root == (c->cr3_before & PG_FRAME) || root == (c->cr3_after & PG_FRAME);
}

/* a ledger record of this op that invalidates [va, va + span) */
static bool covered(const struct check *c, uint64_t va, uint64_t span, bool global)
{
	return tlb_covered(c, op_cpu(c), va, span, global);
}

bool tlb_record_covers(const struct pts_tlb_record *r, uint64_t va, uint64_t span, bool global)
{
	switch (r->kind) {
	case PTS_TLB_PAGE:
		return r->va >= va && r->va - va < span;
	case PTS_TLB_RANGE:
		return r->va < va + span && va < r->end;
	case PTS_TLB_ALL:
	case PTS_TLB_SWITCH:
		return !global;
	case PTS_TLB_ALL_GLOBAL:
		return true;
	default: /* FREE_PTP and SHOOT invalidate nothing; unknown kinds are TLB-3's */
		return false;
	}
}

bool tlb_covered(const struct check *c, uint32_t cpu, uint64_t va, uint64_t span, bool global)
{
	for (size_t i = 0; i < c->ntlb; i++) {
		const struct pts_tlb_record *r = &c->tlb[i];
		if ((cpu == TLB_ANY_CPU || r->cpu == cpu) && tlb_record_covers(r, va, span, global))
			return true;
	}
	return false;
}

bool tlb_downgrade(const struct pte_change *ch)
{
	uint64_t o = ch->old, n = ch->new;
	if (!pte_valid(n) || (ch->flags & PTE_CHG_DETACHED) || !pte_is_leaf(n, ch->level))
		return true;
	return pte_frame(o, ch->level) != pte_frame(n, ch->level) ||
	       ((o & PG_RW) && !(n & PG_RW)) || (!(o & PG_NX) && (n & PG_NX)) ||
	       ((o & PG_U) && !(n & PG_U)) || ((o & PG_M) && !(n & PG_M));
}

void inv_tlb_downgrade(struct check *c)
{
	if (c->op == NULL || !c->tlb_known)
		return;
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		bool global = (ch->old & PG_G) != 0;
		if (!pte_valid(ch->old) || !pte_is_leaf(ch->old, ch->level) || !tlb_downgrade(ch))
			continue;
		if (!global && (!(ch->old & PG_U) || !owner_active(c, ch)))
			continue;
		if (covered(c, ch->va, level_span(ch->level), global))
			continue;
		struct violation *v =
		    vio(c, "downgrade of a cached%s PTE without an invalidation of 0x%llx",
		        global ? " global" : "", (unsigned long long)ch->va);
		vio_pte(v, ch->slot, ch->va, ch->level, ch->old, ch->new);
	}
}

void inv_tlb_ptp_unlink(struct check *c)
{
	if (c->op == NULL || !c->tlb_known)
		return;
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (ch->level < 2 || !pte_valid(ch->old) || pte_is_leaf(ch->old, ch->level) ||
		    (pte_valid(ch->new) && (ch->new &PG_FRAME) == (ch->old & PG_FRAME) &&
		     !(ch->flags & PTE_CHG_DETACHED)))
			continue;
		if (ch->owner == 0 ? false : !owner_active(c, ch))
			continue;
		if (covered(c, ch->va, level_span(ch->level), false))
			continue;
		struct violation *v = vio(
		    c,
		    "PTP 0x%llx unlinked from an active pmap without an invalidation in its span",
		    (unsigned long long)(ch->old & PG_FRAME));
		vio_pte(v, ch->slot, ch->va, ch->level, ch->old, ch->new);
	}
}

bool tlb_record_invalidates(const struct pts_tlb_record *r)
{
	return r->kind >= PTS_TLB_PAGE && r->kind <= PTS_TLB_SWITCH;
}

/* a SHOOT names a root (a page) or the kernel, and CPUs that may exist */
static bool shoot_malformed(const struct pts_tlb_record *r)
{
	bool root_ok = r->va == PTS_TLB_SHOOT_KERNEL || (r->va != 0 && (r->va & ~PG_FRAME) == 0);
	return !root_ok || (r->end >> PTS_MAX_CPUS) != 0;
}

static void check_record(struct check *c, const struct pts_tlb_record *r, uint64_t seq)
{
	if (r->seq != seq)
		vio(c, "ledger record %llu has seq %llu", (unsigned long long)seq,
		    (unsigned long long)r->seq);
	else if (r->kind < PTS_TLB_PAGE || r->kind > PTS_TLB_UNLOCK)
		vio(c, "ledger record %llu has unknown kind %u", (unsigned long long)r->seq,
		    r->kind);
	else if ((r->kind == PTS_TLB_RANGE || r->kind == PTS_TLB_FREE_PTP) && r->end <= r->va)
		vio(c, "ledger record %llu: empty range", (unsigned long long)r->seq);
	else if (r->kind == PTS_TLB_SHOOT && shoot_malformed(r))
		vio(c, "ledger record %llu: a shootdown of root 0x%llx to CPU set 0x%llx",
		    (unsigned long long)r->seq, (unsigned long long)r->va,
		    (unsigned long long)r->end);
	else if (r->kind == PTS_TLB_UNLOCK && (r->va == 0 || (r->va & ~PG_FRAME) != 0))
		vio(c, "ledger record %llu: an unlock of root 0x%llx", (unsigned long long)r->seq,
		    (unsigned long long)r->va);
}

void inv_tlb_ledger(struct check *c)
{
	const struct monitor *m = c->m;
	if (m->tlb_wrapped)
		vio(c, "TLB ledger wrapped past unread records (more than %u in one op)",
		    PTS_TLB_RECORDS);
	if (m->tlb_went_back)
		vio(c, "TLB ledger head went backwards");
	for (size_t i = 0; i < c->ntlb; i++)
		check_record(c, &c->tlb[i], m->tlb_first + i);
}

void check_model_findings(struct check *c)
{
	for (unsigned i = 0; c->mout != NULL && i < c->mout->n; i++)
		if (c->mout->f[i].inv == c->inv->id || strcmp(c->mout->f[i].inv, c->inv->id) == 0) {
			struct violation *v = vio(c, "%s", c->mout->f[i].msg);
			if (v) {
				struct vobj *o = violation_add(v, VOBJ_OP);
				o->slot = c->op ? (int32_t)c->op->pmap : VIO_SLOT_NONE;
				violation_finish(v);
			}
		}
}

void inv_tlb_touch(struct check *c)
{
	check_model_findings(c);
}

void inv_model_results(struct check *c)
{
	check_model_findings(c);
}
