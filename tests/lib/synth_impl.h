/* tests/lib/synth_impl.h - helpers shared by the synthetic image's files.
 * Internal to tests/lib/synth*.c.
 */
#ifndef TESTS_LIB_SYNTH_IMPL_H
#define TESTS_LIB_SYNTH_IMPL_H

#include "synth.h"

gpa_t syn_page_alloc(struct synth *s, uint32_t usage);
void syn_page_free(struct synth *s, gpa_t pa);
void syn_tlb(struct synth *s, uint32_t kind, uint64_t va, uint64_t end);
uint64_t syn_vmp_kva(uint64_t pfn);
/* pool */
uint64_t syn_pool_get(struct synth *s);
void syn_pool_put(struct synth *s, uint64_t item);

#endif /* TESTS_LIB_SYNTH_IMPL_H */
