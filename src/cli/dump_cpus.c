/* src/cli/dump_cpus.c - a part of `ptshadow dump`: after the mappings, each
 * CPU's CR3 and its pmap, each pmap's pm_active and the TLB ledger's last
 * records, every line starting with "# " (docs/user-guide.md, "dump").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* the script's name of each slot at its end ("" for none) */
struct dump_names {
	const char *slot[PTS_MAX_PMAPS];
};

static void names_at_end(const struct script *sc, struct dump_names *n)
{
	memset(n, 0, sizeof *n);
	for (size_t i = 0; sc != NULL && i < sc->n_ops; i++) {
		const struct script_op *sop = &sc->ops[i];
		if (sop->op.pmap >= PTS_MAX_PMAPS)
			continue;
		if (sop->op.kind == PTS_OP_CREATE)
			n->slot[sop->op.pmap] = sop->pmap_name;
		else if (sop->op.kind == PTS_OP_DESTROY)
			n->slot[sop->op.pmap] = NULL;
	}
}

/* pmap p by name: `kernel`, the script's, or else its KVA */
static const char *pmap_name(const struct dump_names *n, const struct monitor_cpu_pmap *p,
                             char *buf, size_t len)
{
	if (p->slot < 0)
		return "kernel";
	if (p->slot < (int32_t)PTS_MAX_PMAPS && n->slot[p->slot] != NULL)
		return n->slot[p->slot];
	snprintf(buf, len, "0x%016" PRIx64, p->kva);
	return buf;
}

/* "{0,1}": the CPUs of a pm_active set */
static void print_set(uint32_t set, FILE *out)
{
	const char *sep = "";

	fputc('{', out);
	for (unsigned c = 0; c < 32; c++, set >>= 1)
		if (set & 1) {
			fprintf(out, "%s%u", sep, c);
			sep = ",";
		}
	fputc('}', out);
}

static void print_cpus(const struct monitor_cpus *mc, const struct dump_names *n, FILE *out)
{
	char buf[32];

	if (mc->smp)
		fprintf(out, "# cpus: %u up\n", mc->ncpus);
	else
		fprintf(out, "# cpus: 1, CPU 0 by its vCPU's CR3 (%s)\n",
		        mc->issue[0] ? mc->issue : "the guest names no struct pts_smp");
	for (uint32_t c = 0; c < mc->ncpus; c++)
		fprintf(out, "# cpu%u cr3 0x%016" PRIx64 " pmap %s\n", c, mc->cr3[c],
		        mc->on[c] < 0 ? "none"
		                      : pmap_name(n, &mc->pmap[mc->on[c]], buf, sizeof buf));
	for (size_t i = 0; i < mc->npmap; i++) {
		const struct monitor_cpu_pmap *p = &mc->pmap[i];
		fprintf(out, "# pmap %s kva 0x%016" PRIx64 " root 0x%016" PRIx64 " pm_active ",
		        pmap_name(n, p, buf, sizeof buf), p->kva, p->root);
		print_set(p->active, out);
		fputc('\n', out);
	}
}

/* one ledger record; a SWITCH names the pmap it loads, a SHOOT or an
 * UNLOCK the pmap it is for */
static void print_record(const struct pts_tlb_record *r, const struct monitor_cpus *mc,
                         const struct dump_names *n, FILE *out)
{
	const char *kind = monitor_tlb_kind_name(r->kind);
	char buf[32];

	fprintf(out, "# seq %" PRIu64 " ", r->seq);
	if (kind != NULL)
		fputs(kind, out);
	else
		fprintf(out, "kind-%u", r->kind);
	fprintf(out, " cpu%u cr3 0x%016" PRIx64 " va 0x%016" PRIx64 " end 0x%016" PRIx64, r->cpu,
	        r->cr3, r->va, r->end);
	bool names_root =
	    r->kind == PTS_TLB_SWITCH || r->kind == PTS_TLB_SHOOT || r->kind == PTS_TLB_UNLOCK;
	int32_t to = names_root ? monitor_cpus_pmap_of(mc, r->va) : -1;
	if (to >= 0)
		fprintf(out, " %s %s", r->kind == PTS_TLB_SWITCH ? "to" : "of",
		        pmap_name(n, &mc->pmap[to], buf, sizeof buf));
	else if (r->kind == PTS_TLB_SHOOT && r->va == PTS_TLB_SHOOT_KERNEL)
		fputs(" of kernel", out);
	fputc('\n', out);
}

static void print_ledger(const struct session *s, const struct monitor_cpus *mc,
                         const struct dump_names *n, unsigned want, FILE *out)
{
	struct pts_tlb_record *rec;
	size_t got = 0;
	uint64_t head = 0;

	if (want == 0)
		return;
	rec = calloc(want, sizeof *rec);
	if (rec == NULL)
		fprintf(out, "# ledger: out of memory\n");
	else if (session_ledger_tail(s, want, rec, &got, &head) != 0)
		fprintf(out, "# ledger: unreadable (%" PRIu64 " records written)\n", head);
	else
		fprintf(out, "# ledger: %" PRIu64 " records written, the last %zu:\n", head, got);
	for (size_t i = 0; i < got; i++)
		print_record(&rec[i], mc, n, out);
	free(rec);
}

int dump_cpus(const struct session *s, const struct script *sc, unsigned ledger, FILE *out)
{
	struct monitor_cpus mc;
	struct dump_names n;

	if (session_cpus(s, &mc) != 0)
		return -1;
	names_at_end(sc, &n);
	print_cpus(&mc, &n, out);
	print_ledger(s, &mc, &n, ledger, out);
	return 0;
}
