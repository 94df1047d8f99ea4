/* guest/selftest_smp.c - selftest=smp: the TLB shootdown seen from the CPU
 * that receives it.  CPU 1 loads a user pmap and reads a page through it
 * (its TLB now holds the translation, A is set); CPU 0 removes the mapping,
 * which owes CPU 1 a shootdown; CPU 1 must have acknowledged it by the time
 * pmap_remove returns, and its next read must fault, not hit a stale entry.
 * selftest=smppanic: CPU 1 panics (its own doorbell carries the record).
 * selftest=smptriple: CPU 1 triple-faults at boot.  selftest=ap_triple and
 * ap_hang: an AP (any CPU but 0) that begins an op triple-faults, or spins
 * there for good, while CPU 0 waits for it (a hang the host's watchdog
 * ends, unless CPU 0's own bound on the wait, smp_collect's, comes first).
 */
#include "cpu.h"
#include "pmap.h"
#include "smp.h"

#define SELFTEST_SLOT (PTS_MAX_PMAPS - 1)
#define SELFTEST_VA   0x0000400000000000ull

static void check(bool ok, const char *what)
{
	if (!ok)
		panic("selftest smp: %s", what);
}

static bool ap_triple, ap_hang;

void selftest_in_op(void)
{
	if (!(ap_triple || ap_hang) || cpu_number() == 0)
		return;
	if (ap_triple)
		cpu_triple_fault();
	for (;;)
		cpu_pause();
}

void selftest_smp(void)
{
	struct pts_cpu *cpu1 = &smp_info.cpu[1];
	struct pmap *pm;
	uint64_t acked, gen;

	if (cmdline_is("selftest", "smppanic") && smp_ncpus() >= 2)
		(void)smp_run_on(1, SMP_CMD_PANIC, 0);
	if (cmdline_is("selftest", "smptriple") && smp_ncpus() >= 2)
		(void)smp_run_on(1, SMP_CMD_TRIPLE, 0);
	ap_triple = cmdline_is("selftest", "ap_triple");
	ap_hang = cmdline_is("selftest", "ap_hang");
	if (!cmdline_is("selftest", "smp"))
		return;
	check(smp_ncpus() >= 2, "needs cpus=2 or more");
	pm = pmap_create(SELFTEST_SLOT);
	check(pm != NULL, "pmap_create");
	check(smp_run_on(1, SMP_CMD_ACTIVATE, (uint64_t)pm) == 0 && pm->pm_active == 2u,
	      "cpu1 activates the pmap: pm_active is {1}");
	check(pmap_enter(pm, SELFTEST_VA, arena_page(0), PTS_PROT_READ, 0) == PMAP_OK, "enter");
	check(smp_run_on(1, SMP_CMD_TOUCH, SELFTEST_VA) == 0, "cpu1 reads the page");
	acked = cpu1->tlb_gen_acked;
	pmap_remove(pm, SELFTEST_VA, SELFTEST_VA + PAGE_SIZE);
	gen = smp_info.tlb_gen;
	check(cpu1->tlb_gen_acked > acked && cpu1->tlb_gen_acked == gen &&
	          cpu1->tlb_gen_sent == gen,
	      "cpu1 acknowledged the shootdown of the removed page");
	check(smp_run_on(1, SMP_CMD_TOUCH, SELFTEST_VA) == 1,
	      "cpu1's read after the remove faults (no stale translation)");
	check(smp_run_on(1, SMP_CMD_ACTIVATE, (uint64_t)pmap_kernel()) == 0 && pm->pm_active == 0,
	      "cpu1 back on the kernel pmap: pm_active is empty");
	pmap_destroy(pm);
	kprintf("selftest smp: cpu1 acknowledged shootdown generation %lu (%lu served), "
	        "its stale translation is gone\n",
	        gen, cpu1->ipis);
}
