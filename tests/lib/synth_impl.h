/* tests/lib/synth_impl.h - helpers shared by the synthetic image's files.
 * Internal to tests/lib/synth*.c.
 */
#ifndef TESTS_LIB_SYNTH_IMPL_H
#define TESTS_LIB_SYNTH_IMPL_H

#include "synth.h"

gpa_t syn_page_alloc(struct synth *s, uint32_t usage);
void syn_page_free(struct synth *s, gpa_t pa);
void syn_tlb(struct synth *s, uint32_t kind, uint64_t va, uint64_t end);
/* CPUs (synth_smp.c) */
void syn_smp_boot(struct synth *s, uint32_t ncpus, gpa_t smp_pa);
/* make cpu the running one (its cr3 and active into s->cr3, s->active) */
void syn_cpu_switch(struct synth *s, uint32_t cpu);
/* the running CPU moved from pmap old to new (slots, -1 = kernel) */
void syn_cpu_activated(struct synth *s, int32_t old, int32_t slot);
/* invalidate va on every CPU that may cache it: those on pmap slot (-1: the
 * kernel's, every CPU) */
void syn_shootdown(struct synth *s, int32_t slot, uint64_t va);
/* the CPUs other than the running one that have slot active */
int32_t syn_cpu_active(const struct synth *s, uint32_t cpu);
uint64_t syn_vmp_kva(uint64_t pfn);
/* pool */
uint64_t syn_pool_get(struct synth *s);
void syn_pool_put(struct synth *s, uint64_t item);

#endif /* TESTS_LIB_SYNTH_IMPL_H */
