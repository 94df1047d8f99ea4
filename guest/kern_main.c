/* guest/kern_main.c - placeholder until the pmap lands: boot smoke test only. */
#include "kernel.h"

void kern_main(void)
{
	kprintf("smoke: boot ok\n");
	guest_exit(0);
}
