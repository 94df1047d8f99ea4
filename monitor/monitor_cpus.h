/* monitor/monitor_cpus.h - the guest's CPUs as the monitor read them at the
 * last check: each one's CR3, each pmap's pm_active, the TLB ledger's last
 * records (`ptshadow dump --cpu-state`, docs/user-guide.md).
 */
#ifndef MONITOR_MONITOR_CPUS_H
#define MONITOR_MONITOR_CPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ptshadow/abi.h>

struct monitor;

struct monitor_cpu_pmap {
	int32_t slot; /* -1: the kernel pmap */
	uint64_t kva, root;
	uint32_t active; /* pm_active: bit i = CPU i (0 when the guest states no SMP) */
};

struct monitor_cpus {
	/* struct pts_smp read and well formed: the CPUs are its; else CPU 0
	 * alone, with the CR3 its vCPU had at the last check, and issue says
	 * why ("" when the guest names no struct pts_smp) */
	bool smp;
	char issue[160];
	uint32_t ncpus;
	uint64_t cr3[PTS_MAX_CPUS];
	int32_t on[PTS_MAX_CPUS]; /* index in pmap[] of the pmap whose root is in CR3, or -1 */
	size_t npmap;
	struct monitor_cpu_pmap pmap[PTS_MAX_PMAPS + 1]; /* the live ones, the kernel's first */
};

/* What the last check read (no guest memory is read again). */
void monitor_cpus(const struct monitor *m, struct monitor_cpus *out);

/* the pmap whose root is cr3's frame (a CR3, or a SWITCH record's va): its
 * index in mc->pmap, or -1 */
int32_t monitor_cpus_pmap_of(const struct monitor_cpus *mc, uint64_t cr3);

/*
 * The TLB ledger's last records, at most n and at most what the ring holds,
 * oldest first, into out (room for n); *got how many, *head how many the
 * guest ever wrote (at the last check).  0, or -1 when the ledger (its header
 * at the last check, or one of the records) cannot be read.
 */
int monitor_ledger_tail(struct monitor *m, size_t n, struct pts_tlb_record *out, size_t *got,
                        uint64_t *head);

/* "PAGE", "RANGE", "ALL", "ALL_GLOBAL", "SWITCH", "FREE_PTP" (enum
 * pts_tlb_kind without PTS_TLB_), or NULL for a kind the ABI does not have */
const char *monitor_tlb_kind_name(uint32_t kind);

#endif /* MONITOR_MONITOR_CPUS_H */
