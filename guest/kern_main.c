/* guest/kern_main.c - after the CPU and console are up: bring up the pmap and the other CPUs,
 * register the introspection descriptor, then serve the host's command ring
 * or run the built-in smoke scenario.
 */
#include "ops.h"
#include "pmap.h"
#include "smp.h"
#include "tlb.h"

void kern_main(void)
{
	tlb_init();
	pmap_bootstrap();
	smp_start_aps(); /* with cpus=N, N > 1 */
	selftest_smp();  /* selftest=smp */
	descriptor_register();
	if (bootinfo.under_ptshadow && cmdline_flag("ring"))
		ops_ring_run();
	smoke_run();
}
