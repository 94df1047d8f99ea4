/* monitor/smp.c - reading struct pts_smp (bounded, validated: guest memory is
 * hostile input) and following each CPU's root through the TLB ledger.
 */
#include "smp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pte.h"

static void smp_fail(struct smp_view *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void smp_fail(struct smp_view *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->issue, sizeof v->issue, fmt, ap);
	va_end(ap);
	v->ok = false;
}

static void smp_parse_cpu(const uint8_t *b, struct smp_cpu_view *c)
{
	c->state = (uint32_t)le_field(b, offsetof(struct pts_cpu, state), 4);
	c->lapic_id = (uint32_t)le_field(b, offsetof(struct pts_cpu, lapic_id), 4);
	c->op_begun = le_field(b, offsetof(struct pts_cpu, op_begun), 8);
	c->op_ended = le_field(b, offsetof(struct pts_cpu, op_ended), 8);
	c->cr3 = le_field(b, offsetof(struct pts_cpu, cr3), 8);
	c->curpmap = le_field(b, offsetof(struct pts_cpu, curpmap), 8);
	c->sent = le_field(b, offsetof(struct pts_cpu, tlb_gen_sent), 8);
	c->acked = le_field(b, offsetof(struct pts_cpu, tlb_gen_acked), 8);
	c->ipis = le_field(b, offsetof(struct pts_cpu, ipis), 8);
}

void smp_read(struct kview *kv, struct smp_view *v)
{
	uint8_t b[sizeof(struct pts_smp)];
	uint32_t magic, cpu_size, wanted, ncpus;

	memset(v, 0, sizeof *v);
	v->known = kv->d->smp != 0;
	if (!v->known)
		return;
	if (kva_read(kv, kv->d->smp, b, sizeof b) != 0)
		return smp_fail(v, "struct pts_smp at kva 0x%llx unreadable",
		                (unsigned long long)kv->d->smp);
	magic = (uint32_t)le_field(b, offsetof(struct pts_smp, magic), 4);
	cpu_size = (uint32_t)le_field(b, offsetof(struct pts_smp, cpu_size), 4);
	wanted = (uint32_t)le_field(b, offsetof(struct pts_smp, ncpus_wanted), 4);
	ncpus = (uint32_t)le_field(b, offsetof(struct pts_smp, ncpus), 4);
	if (magic != PTS_SMP_MAGIC)
		return smp_fail(v, "struct pts_smp: magic 0x%x, want 0x%x", magic, PTS_SMP_MAGIC);
	if (cpu_size != sizeof(struct pts_cpu))
		return smp_fail(v, "struct pts_smp: cpu_size %u, want %zu", cpu_size,
		                sizeof(struct pts_cpu));
	if (wanted < 1 || wanted > PTS_MAX_CPUS || ncpus < 1 || ncpus > wanted)
		return smp_fail(v, "struct pts_smp: ncpus %u of ncpus_wanted %u (1 to %u)", ncpus,
		                wanted, PTS_MAX_CPUS);
	v->ok = true;
	v->ncpus = ncpus;
	v->tlb_gen = le_field(b, offsetof(struct pts_smp, tlb_gen), 8);
	for (uint32_t c = 0; c < ncpus; c++)
		smp_parse_cpu(b + offsetof(struct pts_smp, cpu) + c * sizeof(struct pts_cpu),
		              &v->cpu[c]);
}

void smp_roots_start(const struct smp_view *v, uint64_t root[PTS_MAX_CPUS])
{
	for (uint32_t c = 0; c < PTS_MAX_CPUS; c++)
		root[c] = c < smp_ncpus(v) && v->ok ? v->cpu[c].cr3 & PG_FRAME : 0;
}

void smp_roots_advance(const struct pts_tlb_record *r, size_t n, uint64_t root[PTS_MAX_CPUS])
{
	for (size_t i = 0; i < n; i++)
		if (r[i].kind == PTS_TLB_SWITCH && r[i].cpu < PTS_MAX_CPUS)
			root[r[i].cpu] = r[i].va & PG_FRAME;
}

int smp_tlb_record_read(struct kview *kv, uint64_t seq, struct pts_tlb_record *r)
{
	uint8_t b[sizeof(struct pts_tlb_record)];
	uint64_t kva = kv->d->tlb_ledger + offsetof(struct pts_tlb_ledger, rec) +
	               (seq % PTS_TLB_RECORDS) * sizeof b;

	if (kva_read(kv, kva, b, sizeof b) != 0)
		return -1;
	*r = (struct pts_tlb_record){
	    le_field(b, 0, 8),  (uint32_t)le_field(b, 8, 4), (uint32_t)le_field(b, 12, 4),
	    le_field(b, 16, 8), le_field(b, 24, 8),          le_field(b, 32, 8)};
	return 0;
}
