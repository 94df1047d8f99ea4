/* monitor/inv_smp.c - SMP family: pm_active against the CPUs' roots, no
 * shootdown left in flight at a stop, each CPU's own TLB obligations, and
 * every shootdown reaching the CPUs with its pmap's root loaded (docs/smp.md,
 * "The monitor").  Checked when more than one CPU is up (SMP-5, SMP-6: on
 * one too).
 */
#include <stdio.h>
#include <string.h>

#include "check_ctx.h"
#include "pte.h"

static bool smp_on(const struct check *c)
{
	return c->smp->known && (!c->smp->ok || c->smp->ncpus > 1);
}

/* the pmap of snapshot s at kva, or -1 */
static int32_t pmap_at_kva(const struct snapshot *s, uint64_t kva)
{
	for (size_t i = 0; i < s->npmap; i++)
		if ((s->pmap[i].live || i == 0) && s->pmap[i].kva == kva && kva != 0)
			return (int32_t)i;
	return -1;
}

/* one CPU's curpmap and CR3: a live pmap whose root is in CR3, and the root
 * the ledger's last SWITCH of this CPU loaded; its bit into want[] */
static void check_cpu_root(struct check *c, uint32_t cpu, uint32_t *want)
{
	const struct smp_cpu_view *v = &c->smp->cpu[cpu];
	int32_t i = pmap_at_kva(c->cur, v->curpmap);

	if (i < 0) {
		vio(c, "cpu%u: curpmap 0x%llx is not a live pmap", cpu,
		    (unsigned long long)v->curpmap);
		return;
	}
	want[i] |= 1u << cpu;
	if ((v->cr3 & PG_FRAME) != c->cur->pmap[i].root)
		vio(c, "cpu%u: CR3 0x%llx is not the root 0x%llx of its curpmap (pmap slot %u)",
		    cpu, (unsigned long long)v->cr3, (unsigned long long)c->cur->pmap[i].root,
		    c->cur->pmap[i].slot);
	else if (c->tlb_known && c->root_after[cpu] != (v->cr3 & PG_FRAME))
		vio(c, "cpu%u: CR3 0x%llx, but its last ledger SWITCH loaded 0x%llx", cpu,
		    (unsigned long long)v->cr3, (unsigned long long)c->root_after[cpu]);
}

void inv_smp_pm_active(struct check *c)
{
	uint32_t want[SNAP_MAX_PMAPS] = {0}, all;

	if (!smp_on(c) || !c->smp->ok)
		return;
	all = (uint32_t)((1ull << c->smp->ncpus) - 1);
	for (uint32_t cpu = 0; cpu < c->smp->ncpus; cpu++)
		check_cpu_root(c, cpu, want);
	if ((c->cur->pmap[0].active & all) != all)
		vio(c, "kernel pmap: pm_active 0x%x lacks CPUs of 0x%x (it is every CPU's)",
		    c->cur->pmap[0].active, all);
	for (size_t i = 1; i < c->cur->npmap; i++) {
		const struct pmap_snap *p = &c->cur->pmap[i];
		if (!p->live || p->active == want[i])
			continue;
		struct violation *v =
		    vio(c,
		        "pmap slot %u: pm_active 0x%x, but the CPUs with its root "
		        "in CR3 are 0x%x",
		        p->slot, p->active, want[i]);
		vio_pmap(v, c, c->cur, (uint32_t)i);
	}
}

/* one CPU at a stop, against itself before the op */
static void check_cpu_at_rest(struct check *c, uint32_t cpu)
{
	const struct smp_cpu_view *v = &c->smp->cpu[cpu], *o = &c->smp_prev->cpu[cpu];

	if (v->state != PTS_CPU_IDLE && v->state != PTS_CPU_BUSY)
		vio(c, "cpu%u: state %u at a stop (want idle or busy)", cpu, v->state);
	if (v->acked != v->sent)
		vio(c, "cpu%u: shootdown in flight at a stop: generation %llu sent, %llu acked",
		    cpu, (unsigned long long)v->sent, (unsigned long long)v->acked);
	if (v->sent > c->smp->tlb_gen)
		vio(c, "cpu%u: generation %llu sent, past tlb_gen %llu", cpu,
		    (unsigned long long)v->sent, (unsigned long long)c->smp->tlb_gen);
	if (c->smp_prev->ok && cpu < c->smp_prev->ncpus &&
	    (v->acked < o->acked || v->ipis < o->ipis))
		vio(c, "cpu%u: went back: acked %llu -> %llu, ipis %llu -> %llu", cpu,
		    (unsigned long long)o->acked, (unsigned long long)v->acked,
		    (unsigned long long)o->ipis, (unsigned long long)v->ipis);
}

void inv_smp_at_rest(struct check *c)
{
	if (!smp_on(c))
		return;
	if (!c->smp->ok) {
		vio(c, "%s", c->smp->issue);
		return;
	}
	if (c->smp_prev->ok && c->smp->tlb_gen < c->smp_prev->tlb_gen)
		vio(c, "tlb_gen went back: %llu -> %llu", (unsigned long long)c->smp_prev->tlb_gen,
		    (unsigned long long)c->smp->tlb_gen);
	if (c->smp_prev->ok && c->smp->ncpus != c->smp_prev->ncpus)
		vio(c, "ncpus changed: %u -> %u", c->smp_prev->ncpus, c->smp->ncpus);
	for (uint32_t cpu = 0; cpu < c->smp->ncpus; cpu++)
		check_cpu_at_rest(c, cpu);
}

/* the root of the pmap a change was made in (0: the kernel half, every root) */
static gpa_t change_root(const struct check *c, const struct pte_change *ch)
{
	bool old = (ch->flags & PTE_CHG_DETACHED) != 0;
	const struct pmap_snap *pm = old ? c->prev_pmap : c->cur->pmap;
	size_t npmap = old ? c->prev_npmap : c->cur->npmap;

	if (ch->owner == 0 || pm == NULL || ch->owner >= npmap)
		return 0;
	return pm[ch->owner].root;
}

/* what a CPU's TLB may hold of a change: the PTE (leaf) or the walk through it */
static bool change_owed(const struct pte_change *ch, bool *global)
{
	if (!pte_valid(ch->old))
		return false;
	*global = (ch->old & PG_G) != 0;
	if (pte_is_leaf(ch->old, ch->level)) /* a translation, cached once A (PG_U) was set */
		return tlb_downgrade(ch) && (*global || (ch->old & PG_U));
	/* a PTP unlinked or replaced: paging-structure caches may hold it */
	return ch->level >= 2 && !(pte_valid(ch->new) && !(ch->flags & PTE_CHG_DETACHED) &&
	                           (ch->new &PG_FRAME) == (ch->old & PG_FRAME));
}

static void check_change_cpus(struct check *c, const struct pte_change *ch)
{
	bool global = false;
	gpa_t root;

	if (!change_owed(ch, &global))
		return;
	root = change_root(c, ch);
	for (uint32_t cpu = 0; cpu < c->smp->ncpus; cpu++) {
		bool holds = global || root == 0 || c->root_before[cpu] == root ||
		             c->root_after[cpu] == root;
		if (!holds || tlb_covered(c, cpu, ch->va, level_span(ch->level), global))
			continue;
		bool leaf = pte_is_leaf(ch->old, ch->level);
		struct violation *v = vio(
		    c,
		    "cpu%u may still hold %s 0x%llx -> 0x%llx: no invalidation "
		    "of its own in the op",
		    cpu, leaf ? "the translation" : "a walk through the PTP at",
		    (unsigned long long)ch->va, (unsigned long long)pte_frame(ch->old, ch->level));
		vio_pte(v, ch->slot, ch->va, ch->level, ch->old, ch->new);
	}
}

void inv_smp_cpu_invalidated(struct check *c)
{
	if (!smp_on(c) || !c->smp->ok || c->op == NULL || !c->tlb_known)
		return;
	for (size_t i = 0; i < c->delta->n; i++)
		check_change_cpus(c, &c->delta->chg[i]);
}

void inv_smp_ledger_cpus(struct check *c)
{
	bool recorded[PTS_MAX_CPUS] = {false};

	if (!smp_on(c) || !c->smp->ok || c->op == NULL || !c->tlb_known)
		return;
	for (size_t i = 0; i < c->ntlb; i++) {
		if (c->tlb[i].cpu >= c->smp->ncpus)
			vio(c, "ledger record %llu names cpu%u, not up (%u CPUs)",
			    (unsigned long long)c->tlb[i].seq, c->tlb[i].cpu, c->smp->ncpus);
		else if (tlb_record_invalidates(&c->tlb[i])) /* a FREE_PTP or SHOOT is no ack */
			recorded[c->tlb[i].cpu] = true;
	}
	for (uint32_t cpu = 0; c->smp_prev->ok && cpu < c->smp->ncpus; cpu++) {
		const struct smp_cpu_view *v = &c->smp->cpu[cpu], *o = &c->smp_prev->cpu[cpu];
		if (cpu < c->smp_prev->ncpus && v->ipis > o->ipis && !recorded[cpu])
			vio(c,
			    "cpu%u served %llu shootdown(s) in the op (ipis %llu -> %llu) and "
			    "invalidated nothing",
			    cpu, (unsigned long long)(v->ipis - o->ipis),
			    (unsigned long long)o->ipis, (unsigned long long)v->ipis);
	}
}

/* SMP-5 (on one CPU too): a PTP the op freed.  Its unlink in the op's delta
 * gives the span it mapped and its pmap's root (0: unknown or the kernel's,
 * every CPU); no change of the op unlinks it: nothing to judge. */
static const struct pte_change *freed_ptp_unlink(const struct check *c, gpa_t pa)
{
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		bool unlinked = !pte_valid(ch->new) || (ch->flags & PTE_CHG_DETACHED) ||
		                (ch->new &PG_FRAME) != (ch->old & PG_FRAME);
		if (ch->level >= 2 && pte_valid(ch->old) && !pte_is_leaf(ch->old, ch->level) &&
		    (ch->old & PG_FRAME) == pa && unlinked)
			return &c->delta->chg[i];
	}
	return NULL;
}

/* the CPUs whose own records before the free at index at cover the span,
 * or loaded CR3 (a CR3 load drops the paging-structure caches): bounded by
 * the op's records, scanned back once for every CPU at a time */
static uint32_t cpus_forgot(const struct check *c, size_t at, uint64_t va, uint64_t span,
                            uint32_t ncpus)
{
	uint32_t all = (uint32_t)((1ull << ncpus) - 1), forgot = 0;

	for (size_t j = at; j-- > 0 && forgot != all;) {
		const struct pts_tlb_record *r = &c->tlb[j];
		if (r->cpu < ncpus && tlb_record_covers(r, va, span, false))
			forgot |= 1u << r->cpu;
	}
	return forgot;
}

static void check_ptp_free(struct check *c, size_t at, uint32_t ncpus)
{
	const struct pts_tlb_record *r = &c->tlb[at];
	const struct pte_change *ch = freed_ptp_unlink(c, r->va & PG_FRAME);
	gpa_t root;
	uint64_t span;
	uint32_t forgot;

	if (ch == NULL)
		return;
	root = change_root(c, ch);
	span = level_span(ch->level);
	forgot = cpus_forgot(c, at, ch->va, span, ncpus);
	for (uint32_t cpu = 0; cpu < ncpus; cpu++) {
		if ((forgot & (1u << cpu)) || (root != 0 && c->root_before[cpu] != root))
			continue;
		struct violation *v =
		    vio(c,
		        "cpu%u may still walk through PTP 0x%llx (va 0x%llx-0x%llx) when it is "
		        "freed (ledger record %llu): no invalidation of its own before it",
		        cpu, (unsigned long long)(r->va & PG_FRAME), (unsigned long long)ch->va,
		        (unsigned long long)(ch->va + span), (unsigned long long)r->seq);
		vio_pte(v, ch->slot, ch->va, ch->level, ch->old, ch->new);
	}
}

void inv_smp_ptp_free(struct check *c)
{
	uint32_t ncpus = smp_ncpus(c->smp);

	if (c->op == NULL || !c->tlb_known || (c->smp->known && !c->smp->ok))
		return;
	for (size_t i = 0; i < c->ntlb; i++)
		if (c->tlb[i].kind == PTS_TLB_FREE_PTP)
			check_ptp_free(c, i, ncpus);
}

/* SMP-6 (on one CPU too): the index of the live pmap of s whose root is root, or -1 */
static int32_t pmap_of_root(const struct snapshot *s, gpa_t root)
{
	for (size_t i = 1; i < s->npmap; i++)
		if (s->pmap[i].live && s->pmap[i].root == root)
			return (int32_t)i;
	return -1;
}

static void shoot_missed(struct check *c, const struct pts_tlb_record *r, uint32_t cpu)
{
	bool kernel = r->va == PTS_TLB_SHOOT_KERNEL;
	int32_t i = kernel ? -1 : pmap_of_root(c->cur, r->va & PG_FRAME);
	char what[96];

	if (kernel)
		snprintf(what, sizeof what, "is up (every CPU may cache kernel entries)");
	else if (i >= 0)
		snprintf(what, sizeof what, "has pmap slot %u's root 0x%llx in CR3",
		         c->cur->pmap[i].slot, (unsigned long long)(r->va & PG_FRAME));
	else
		snprintf(what, sizeof what, "has root 0x%llx in CR3",
		         (unsigned long long)(r->va & PG_FRAME));
	struct violation *v = vio(c,
	                          "cpu%u %s, but cpu%u's shootdown for %s (ledger record %llu) "
	                          "goes to CPU set 0x%llx: cpu%u may keep stale entries",
	                          cpu, what, r->cpu, kernel ? "the kernel pmap" : "that pmap",
	                          (unsigned long long)r->seq, (unsigned long long)r->end, cpu);
	if (i >= 0)
		vio_pmap(v, c, c->cur, (uint32_t)i);
}

/* at a SHOOT record, each CPU but the sender with the shot root (or, for the
 * kernel, each CPU up) is in its set; root[] is every CPU's root there */
static void check_shoot(struct check *c, const struct pts_tlb_record *r, const uint64_t *root,
                        uint32_t ncpus)
{
	for (uint32_t cpu = 0; cpu < ncpus; cpu++) {
		if (cpu == r->cpu || (r->end >> cpu) & 1)
			continue;
		if (r->va == PTS_TLB_SHOOT_KERNEL || root[cpu] == (r->va & PG_FRAME))
			shoot_missed(c, r, cpu);
	}
}

void inv_smp_shoot_reaches(struct check *c)
{
	uint64_t root[PTS_MAX_CPUS];
	uint32_t ncpus = smp_ncpus(c->smp);

	if (c->op == NULL || !c->tlb_known || (c->smp->known && !c->smp->ok))
		return;
	memcpy(root, c->root_before, sizeof root);
	for (size_t i = 0; i < c->ntlb; i++) {
		if (c->tlb[i].kind == PTS_TLB_SHOOT)
			check_shoot(c, &c->tlb[i], root, ncpus);
		else
			smp_roots_advance(&c->tlb[i], 1, root);
	}
}
