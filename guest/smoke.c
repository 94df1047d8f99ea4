/* guest/smoke.c - the built-in smoke scenario: every op kind once or more,
 * with the result docs/semantics.md requires, run through the executor when
 * no host drives the command ring (QEMU, or ptshadow without "ring").
 */
#include "ops.h"
#include "pmap.h"

static const char smoke_ops[] = "create a => ok\n"
                                "create b => ok\n"
                                "is_modified pg1 => false\n"
                                "enter a 0x400000 pg1 rw => ok\n"
                                "extract a 0x400000 => pg1\n"
                                "extract a 0x401000 => none\n"
                                "is_referenced pg1 => false\n"
                                "touch a 0x400000 r => ok\n"
                                "is_referenced pg1 => true\n"
                                "is_modified pg1 => false\n"
                                "touch a 0x400000 w => ok\n"
                                "is_modified pg1 => true\n"
                                "touch a 0x401000 r => fault\n"
                                "# one page, several pmaps and VAs\n"
                                "enter b 0x400000 pg1 r => ok\n"
                                "enter a 0x7f0000000000 pg1 rx wired => ok\n"
                                "touch b 0x400000 w => fault\n"
                                "touch b 0x400000 r => ok\n"
                                "page_protect pg1 r => ok\n"
                                "touch a 0x400000 w => fault\n"
                                "touch a 0x400000 r => ok\n"
                                "protect a 0x400000 0x401000 r => ok\n"
                                "clear_modify pg1 => ok\n"
                                "is_modified pg1 => false\n"
                                "clear_reference pg1 => ok\n"
                                "is_referenced pg1 => false\n"
                                "touch b 0x400000 r => ok\n"
                                "is_referenced pg1 => true\n"
                                "unwire a 0x7f0000000000 => ok\n"
                                "# enter over an existing mapping: same page, then another page\n"
                                "enter a 0x400000 pg1 rw => ok\n"
                                "touch a 0x400000 w => ok\n"
                                "enter a 0x400000 pg2 rw => ok\n"
                                "extract a 0x400000 => pg2\n"
                                "touch a 0x400000 r => ok\n"
                                "is_modified pg2 => false\n"
                                "is_modified pg1 => true\n"
                                "page_protect pg1 none => ok\n"
                                "extract b 0x400000 => none\n"
                                "extract a 0x7f0000000000 => none\n"
                                "is_modified pg1 => true\n"
                                "remove a 0x400000 => ok\n"
                                "extract a 0x400000 => none\n"
                                "touch a 0x400000 r => fault\n"
                                "is_referenced pg2 => true\n"
                                "# unmanaged kernel window, page contents\n"
                                "kenter k+0x1000 pg3 rw => ok\n"
                                "kenter k+0x2000 pg4 r => ok\n"
                                "kenter k+0x1000 pg5 rx => ok\n"
                                "kremove k+0x1000 k+0x3000 => ok\n"
                                "zero pg5 => ok\n"
                                "copy pg5 pg6 => ok\n"
                                "# injected allocation failure leaves no trace\n"
                                "fail alloc 1 => ok\n"
                                "enter a 0x40000000 pg7 rw canfail => enomem\n"
                                "extract a 0x40000000 => none\n"
                                "enter a 0x40000000 pg7 rw canfail => ok\n"
                                "fail alloc 4 => ok\n"
                                "enter b 0x8000000000 pg7 rw canfail => enomem\n"
                                "enter b 0x8000000000 pg7 rw wired canfail => ok\n"
                                "collect a => ok\n"
                                "extract a 0x40000000 => none\n"
                                "activate b => ok\n"
                                "destroy b => ok\n"
                                "destroy a => ok\n"
                                "# malformed records are refused\n"
                                "extract a 0x400000 => einval\n"
                                "create c => ok\n"
                                "enter c 0x400001 pg1 r => einval\n"
                                "enter c 0x800000000000 pg1 r => einval\n"
                                "remove c 0x2000 0x1000 => einval\n"
                                "destroy c => ok\n";

void smoke_run(void)
{
	const char *text = script_captured();
	unsigned nops, bad;

	if (text != NULL) {
		bad = script_run("script", text, false, &nops);
		kprintf("script: %u ops, %u mismatches\n", nops, bad);
		guest_exit(bad == 0 ? 0 : 1);
	}
	bad = script_run("smoke", smoke_ops, true, &nops);
	if (bad != 0)
		guest_exit(1);
	if (pmap_list != NULL || pmap_pv_pool.pr_nout != 0) {
		kprintf("smoke: leftovers: pmap list %p, %u pv entries out\n", (void *)pmap_list,
		        pmap_pv_pool.pr_nout);
		guest_exit(1);
	}
	kprintf("smoke: %u ops ok\n", nops);
	guest_exit(0);
}
