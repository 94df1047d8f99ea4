/* monitor/monitor_cpus.c - the CPUs, pm_active and the ledger's tail as the
 * last check read them, for a person to look at (`ptshadow dump`).
 */
#include "monitor_cpus.h"

#include <stdio.h>
#include <string.h>

#include "monitor_impl.h"
#include "pte.h"

/* the live pmaps of the last snapshot, the kernel's first */
static void cpus_pmaps(const struct snapshot *s, struct monitor_cpus *out)
{
	for (size_t i = 0; i < s->npmap && i < SNAP_MAX_PMAPS; i++) {
		const struct pmap_snap *p = &s->pmap[i];
		if (!p->live)
			continue;
		out->pmap[out->npmap++] = (struct monitor_cpu_pmap){
		    .slot = i == 0 ? -1 : (int32_t)p->slot,
		    .kva = p->kva,
		    .root = p->root,
		    .active = p->active,
		};
	}
}

int32_t monitor_cpus_pmap_of(const struct monitor_cpus *out, uint64_t cr3)
{
	for (size_t i = 0; i < out->npmap; i++)
		if (out->pmap[i].root != 0 && out->pmap[i].root == (cr3 & PG_FRAME))
			return (int32_t)i;
	return -1;
}

void monitor_cpus(const struct monitor *m, struct monitor_cpus *out)
{
	const struct smp_view *v = &m->smp;

	memset(out, 0, sizeof *out);
	cpus_pmaps(&m->snap[m->cur], out);
	out->smp = v->known && v->ok;
	if (v->known && !v->ok)
		snprintf(out->issue, sizeof out->issue, "%s", v->issue);
	out->ncpus = out->smp ? v->ncpus : 1;
	for (uint32_t c = 0; c < out->ncpus; c++) {
		out->cr3[c] = out->smp ? v->cpu[c].cr3 : m->cr3;
		out->on[c] = monitor_cpus_pmap_of(out, out->cr3[c]);
	}
}

int monitor_ledger_tail(struct monitor *m, size_t n, struct pts_tlb_record *out, size_t *got,
                        uint64_t *head)
{
	const struct snapshot *s = &m->snap[m->cur];
	uint64_t k = n;

	*got = 0;
	*head = s->tlb_head;
	if (!s->tlb_ok)
		return -1;
	if (k > s->tlb_head)
		k = s->tlb_head;
	if (k > PTS_TLB_RECORDS)
		k = PTS_TLB_RECORDS;
	for (uint64_t i = 0; i < k; i++)
		if (smp_tlb_record_read(&m->kv, s->tlb_head - k + i, &out[i]) != 0)
			return -1;
	*got = (size_t)k;
	return 0;
}

const char *monitor_tlb_kind_name(uint32_t kind)
{
	static const char *const names[] = {
	    [PTS_TLB_PAGE] = "PAGE",     [PTS_TLB_RANGE] = "RANGE",
	    [PTS_TLB_ALL] = "ALL",       [PTS_TLB_ALL_GLOBAL] = "ALL_GLOBAL",
	    [PTS_TLB_SWITCH] = "SWITCH", [PTS_TLB_FREE_PTP] = "FREE_PTP",
	    [PTS_TLB_SHOOT] = "SHOOT",   [PTS_TLB_UNLOCK] = "UNLOCK",
	};
	return kind < sizeof names / sizeof names[0] ? names[kind] : NULL;
}
