/* guest/kmain.c - the first C code: read the PVH start_info, bring up the
 * console and the CPU tables, print the banner, check that traps work, then
 * hand over to kern_main (the pmap and the op loop).
 */
#include "cpu.h"
#include "smp.h"

struct boot_info bootinfo;
extern char _kernel_pa_start[], _kernel_end[];

void kmain(uint32_t start_info_pa);
void cons_init(void);
bool hv_detect(void);

/* Physical memory below 4 GiB is reachable through the boot direct map. */
static const void *early_phys(uint64_t pa, uint64_t len)
{
	if (pa == 0 || pa + len < pa || pa + len > (4ull << 30))
		return NULL;
	return (const void *)PHYS_TO_DMAP(pa);
}

static void start_info_read(uint32_t pa)
{
	const struct pts_hvm_start_info *si = early_phys(pa, sizeof(*si));
	const struct pts_hvm_memmap_entry *mm;

	if (si == NULL || si->magic != PTS_HVM_START_MAGIC)
		panic("no PVH start_info at %#x", pa);
	if (si->cmdline_paddr != 0) {
		const char *cl = early_phys(si->cmdline_paddr, 1);
		if (cl != NULL)
			strncpy_s(bootinfo.cmdline, cl, sizeof(bootinfo.cmdline));
	}
	if (si->version < 1 || si->memmap_entries == 0)
		panic("PVH start_info version %u has no memory map", si->version);
	mm = early_phys(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof(*mm));
	if (mm == NULL)
		panic("PVH memory map at %#lx is unreachable", si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries && bootinfo.nmemmap < BOOT_MEMMAP_MAX; i++) {
		struct boot_memmap_entry *e = &bootinfo.memmap[bootinfo.nmemmap++];
		e->addr = mm[i].addr;
		e->size = mm[i].size;
		e->type = mm[i].type;
	}
}

static uint64_t ram_bytes(void)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < bootinfo.nmemmap; i++)
		if (bootinfo.memmap[i].type == PTS_HVM_MEMMAP_RAM)
			total += bootinfo.memmap[i].size;
	return total;
}

static const char *cmdline_find(const char *key)
{
	size_t klen = strlen(key);
	const char *p = bootinfo.cmdline;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, klen) == 0 &&
		    (p[klen] == '=' || p[klen] == ' ' || p[klen] == '\0'))
			return p + klen;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return NULL;
}

uint64_t cmdline_u64(const char *key, uint64_t dflt)
{
	const char *p = cmdline_find(key);
	uint64_t v = 0;
	unsigned base = 10;

	if (p == NULL || *p != '=')
		return dflt;
	p++;
	if (p[0] == '0' && p[1] == 'x') {
		base = 16;
		p += 2;
	}
	if (*p == '\0' || *p == ' ')
		return dflt;
	for (; *p != '\0' && *p != ' '; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return dflt;
		v = v * base + d;
	}
	return v;
}

bool cmdline_flag(const char *key)
{
	const char *p = cmdline_find(key);

	return p != NULL && (*p != '=' || cmdline_u64(key, 1) != 0);
}

bool cmdline_is(const char *key, const char *value)
{
	const char *p = cmdline_find(key);
	size_t n = strlen(value);

	return p != NULL && *p == '=' && strncmp(p + 1, value, n) == 0 &&
	       (p[1 + n] == '\0' || p[1 + n] == ' ');
}

/*
 * selftest=... makes the guest misbehave on purpose, so the VMM's handling of
 * each kind of guest death can be tested; hcbench=N times N null hypercalls,
 * spinbench=N a register loop of N iterations, zbench three ways to zero a page.
 */
static void selftest_misbehave(void)
{
	uint64_t n = cmdline_u64("hcbench", 0);

	if (n > 0) {
		uint64_t t0 = rdtsc();
		for (uint64_t i = 0; i < n; i++)
			hc_nop();
		kprintf("hcbench: %lu hypercalls, %lu cycles each (tsc %lu kHz)\n", n,
		        (rdtsc() - t0) / n, bootinfo.tsc_khz);
	}
	n = cmdline_u64("spinbench", 0);
	if (n > 0) { /* a two-instruction register loop: what one instruction costs */
		uint64_t t0 = rdtsc(), c = n;
		__asm__ volatile("1: dec %0; jnz 1b" : "+r"(c));
		kprintf("spinbench: %lu iterations, %lu cycles each (tsc %lu kHz)\n", n,
		        (rdtsc() - t0) / n, bootinfo.tsc_khz);
	}
	if (cmdline_flag("zbench")) {
		static uint8_t zpage[4096] __aligned(4096);
		uint64_t t0 = rdtsc(), t1, t2, t3;
		void *d = zpage;
		size_t c = 4096;
		__asm__ volatile("rep stosb" : "+D"(d), "+c"(c) : "a"(0) : "memory");
		t1 = rdtsc();
		d = zpage;
		c = 512;
		__asm__ volatile("rep stosq" : "+D"(d), "+c"(c) : "a"(0) : "memory");
		t2 = rdtsc();
		for (int i = 0; i < 512; i++)
			((volatile uint64_t *)zpage)[i] = 0;
		t3 = rdtsc();
		kprintf("zbench: stosb %lu stosq %lu loop %lu cycles per page\n", t1 - t0, t2 - t1,
		        t3 - t2);
	}
	if (cmdline_is("selftest", "hang"))
		for (;;)
			cpu_pause();
	if (cmdline_is("selftest", "halt"))
		__asm__ volatile("cli; hlt");
	if (cmdline_is("selftest", "panic"))
		panic("selftest: deliberate panic");
	if (cmdline_is("selftest", "fault"))
		(void)*(volatile uint64_t *)0x0000700000000000ull;
	if (cmdline_is("selftest", "triple"))
		cpu_triple_fault();
	if (cmdline_is("selftest", "badhc"))
		hc_raw(PTS_HC_EXIT, 0xfffffff8u);
	if (cmdline_is("selftest", "exit3"))
		guest_exit(3);
	selftest_console_boot();
}

/* Boot self-test: a page fault on an unmapped address must come back to us. */
static void trap_selftest(void)
{
	uint64_t unmapped = 0x0000700000000000ull; /* no PML4 entry at boot */

	if (cpu_touch(unmapped, 0, 0) != 1 || curcpu()->pc_onfault_cr2 != unmapped)
		panic("page-fault recovery does not work (cr2 %#lx)", curcpu()->pc_onfault_cr2);
	if (cpu_touch((uint64_t)&bootinfo, 1, 0) != 0)
		panic("write to kernel data faulted");
	hc_nop();
}

// cppcheck-suppress unusedFunction ; called from entry.S
void kmain(uint32_t start_info_pa)
{
	cons_init();
	start_info_read(start_info_pa); /* the command line may name the doorbell */
	bootinfo.under_ptshadow = hv_detect();
	bootinfo.kernel_pa_start = (uint64_t)_kernel_pa_start;
	bootinfo.kernel_pa_end = round_page(KVTOPHYS(_kernel_end));
	bootinfo.boot_alloc_end = bootinfo.kernel_pa_end;
	kprintf("ptshadow guest (abi %u) on %s: %lu MiB RAM, kernel %#lx-%#lx, cmdline \"%s\"\n",
	        PTS_ABI_VERSION, bootinfo.under_ptshadow ? "ptshadow" : "a foreign hypervisor",
	        ram_bytes() >> 20, bootinfo.kernel_pa_start, bootinfo.kernel_pa_end,
	        bootinfo.cmdline);
	cpu_init();
	hc_wakeup_init();
	trap_selftest();
	selftest_misbehave();
	kern_main();
	panic("kern_main returned");
}
