/* monitor/smp.h - the guest's CPUs as the monitor sees them: struct pts_smp
 * copied out and validated after every op, and each CPU's root as the TLB
 * ledger's SWITCH records tell it (docs/smp.md, "The monitor").
 */
#ifndef MONITOR_SMP_H
#define MONITOR_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ptshadow/abi.h>

#include "desc.h"

struct smp_cpu_view {
	uint32_t state, lapic_id;
	uint64_t cr3, curpmap, sent, acked, ipis;
	uint64_t op_begun, op_ended; /* 1 + the seq of the op it began, ended last (0: none) */
};

struct smp_view {
	bool known;      /* the descriptor names a struct pts_smp (else: one CPU, nothing read) */
	bool ok;         /* ... read and well formed: the fields below mean something */
	char issue[160]; /* why not ok */
	uint32_t ncpus;  /* 1..PTS_MAX_CPUS */
	uint64_t tlb_gen;
	struct smp_cpu_view cpu[PTS_MAX_CPUS];
};

/* Copy struct pts_smp out through kv and check its shape (magic, cpu_size,
 * 1 <= ncpus <= ncpus_wanted <= PTS_MAX_CPUS).  Never fails: what is wrong
 * is in v->issue with v->ok false. */
void smp_read(struct kview *kv, struct smp_view *v);

/* The CPUs the checks know of: ncpus when the view is ok, else 1. */
static inline uint32_t smp_ncpus(const struct smp_view *v)
{
	return v->known && v->ok ? v->ncpus : 1;
}

/*
 * Each CPU's root (CR3 frame) as the ledger tells it.  smp_roots_start sets
 * them from the view (registration); smp_roots_advance applies an op's
 * records in order: a SWITCH by CPU c makes its va c's root.  Records of a
 * CPU past PTS_MAX_CPUS are skipped (TLB-3 and SMP-4 report them).
 */
void smp_roots_start(const struct smp_view *v, uint64_t root[PTS_MAX_CPUS]);
void smp_roots_advance(const struct pts_tlb_record *r, size_t n, uint64_t root[PTS_MAX_CPUS]);

/* Copy out ledger record number seq (the ring's rec[seq % PTS_TLB_RECORDS])
 * through kv: 0, or -1 when it cannot be read. */
int smp_tlb_record_read(struct kview *kv, uint64_t seq, struct pts_tlb_record *r);

#endif /* MONITOR_SMP_H */
