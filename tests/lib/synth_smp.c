/* tests/lib/synth_smp.c - the synthetic image's CPUs: struct pts_smp, the
 * running CPU, pm_active, and shootdowns that leave a ledger record of each
 * CPU that may cache an entry, acknowledged at once (docs/smp.md).
 */
#include <stddef.h>

#include "pte.h"
#include "synth_impl.h"

#define SMP(field)    (s->smp_pa + offsetof(struct pts_smp, field))
#define CPU(c, field) (synth_cpu_pa(s, c) + offsetof(struct pts_cpu, field))
#define PMAP_SLOT(sl) ((sl) < 0 ? SYNTH_KERNEL_SLOT : (uint32_t)(sl))

gpa_t synth_cpu_pa(const struct synth *s, uint32_t cpu)
{
	return s->smp_pa + offsetof(struct pts_smp, cpu) + cpu * sizeof(struct pts_cpu);
}

void syn_smp_boot(struct synth *s, uint32_t ncpus, gpa_t smp_pa)
{
	gpa_t kpm = synth_pmap_pa(s, SYNTH_KERNEL_SLOT);

	s->ncpus = ncpus;
	s->cpu = 0;
	s->smp_pa = smp_pa;
	for (uint32_t c = 0; c < PTS_MAX_CPUS; c++) {
		s->cpu_cr3[c] = s->cr3;
		s->cpu_active[c] = -1;
	}
	if (smp_pa == 0)
		return;
	synth_w32(s, SMP(magic), PTS_SMP_MAGIC);
	synth_w32(s, SMP(cpu_size), sizeof(struct pts_cpu));
	synth_w32(s, SMP(ncpus_wanted), ncpus);
	synth_w32(s, SMP(ncpus), ncpus);
	synth_w32(s, kpm + SYN_PM_ACTIVE, (uint32_t)((1ull << ncpus) - 1));
	for (uint32_t c = 0; c < ncpus; c++) {
		synth_w32(s, CPU(c, cpuid), c);
		synth_w32(s, CPU(c, state), c == 0 ? PTS_CPU_BUSY : PTS_CPU_IDLE);
		synth_w64(s, CPU(c, cr3), s->cr3);
		synth_w64(s, CPU(c, curpmap), synth_kva(s, kpm));
	}
}

int32_t syn_cpu_active(const struct synth *s, uint32_t cpu)
{
	return cpu == s->cpu ? s->active : s->cpu_active[cpu];
}

void syn_cpu_switch(struct synth *s, uint32_t cpu)
{
	if (cpu == s->cpu)
		return;
	s->cpu_cr3[s->cpu] = s->cr3;
	s->cpu_active[s->cpu] = s->active;
	s->cpu = cpu;
	s->cr3 = s->cpu_cr3[cpu];
	s->active = s->cpu_active[cpu];
}

void syn_cpu_activated(struct synth *s, int32_t old, int32_t slot)
{
	uint32_t bit = 1u << s->cpu;
	gpa_t opm = synth_pmap_pa(s, PMAP_SLOT(old)), npm = synth_pmap_pa(s, PMAP_SLOT(slot));

	if (s->smp_pa == 0)
		return;
	if (slot >= 0)
		synth_w32(s, npm + SYN_PM_ACTIVE, synth_r32(s, npm + SYN_PM_ACTIVE) | bit);
	synth_w64(s, CPU(s->cpu, cr3), s->cr3);
	synth_w64(s, CPU(s->cpu, curpmap), synth_kva(s, npm));
	if (old >= 0 && old != slot)
		synth_w32(s, opm + SYN_PM_ACTIVE, synth_r32(s, opm + SYN_PM_ACTIVE) & ~bit);
}

/* one target: its record, then its ack of a new generation */
static void shoot_one(struct synth *s, uint32_t cpu, uint64_t va)
{
	uint32_t self = s->cpu;
	uint64_t gen = synth_r64(s, SMP(tlb_gen)) + 1;

	synth_w64(s, SMP(tlb_gen), gen);
	synth_w64(s, CPU(cpu, tlb_gen_sent), gen);
	syn_cpu_switch(s, cpu);
	syn_tlb(s, PTS_TLB_PAGE, va, 0);
	syn_cpu_switch(s, self);
	synth_w64(s, CPU(cpu, ipis), synth_r64(s, CPU(cpu, ipis)) + 1);
	synth_w64(s, CPU(cpu, tlb_gen_acked), gen);
}

/* ABI 5, several CPUs: the set the shootdown goes to, as the guest's
 * shootdown_add records it, first: slot's pm_active (the kernel: every CPU) */
static void shoot_record(struct synth *s, int32_t slot)
{
	gpa_t pm = synth_pmap_pa(s, PMAP_SLOT(slot));

	if (s->smp_pa == 0)
		return;
	if (slot < 0)
		syn_tlb(s, PTS_TLB_SHOOT, PTS_TLB_SHOOT_KERNEL, (1ull << s->ncpus) - 1);
	else
		syn_tlb(s, PTS_TLB_SHOOT, synth_r64(s, pm + SYN_PM_PML4),
		        synth_r32(s, pm + SYN_PM_ACTIVE));
}

void syn_shootdown(struct synth *s, int32_t slot, uint64_t va)
{
	shoot_record(s, slot);
	if (slot < 0 || s->active == slot)
		syn_tlb(s, PTS_TLB_PAGE, va, 0);
	for (uint32_t c = 0; s->smp_pa != 0 && c < s->ncpus; c++)
		if (c != s->cpu && (slot < 0 || syn_cpu_active(s, c) == slot))
			shoot_one(s, c, va);
}
