/* guest/smp.c - the CPUs: per-CPU data, the local APIC (xAPIC, through one
 * uncached kernel page), starting the APs with INIT-SIPI-SIPI, their idle
 * loop, and the TLB shootdown protocol (include/ptshadow/abi.h, docs/smp.md).
 *
 * CPU 0 is the BSP.  How many CPUs there are is the host's word: "cpus=N"
 * on the command line.  The BSP broadcasts INIT-SIPI-SIPI to all but itself;
 * each AP takes the next index (a lock xadd in the trampoline, which picks
 * its stack by it), runs ap_main on the boot page tables of entry.S (they map
 * the trampoline 1:1 and the kernel image), loads its own GDT/TSS, moves to
 * the kernel pmap, and parks.  Parked is `sti; hlt` in ap_idle, woken by an
 * IPI: a shootdown, or CPU 0's mailbox (smp_run_on).
 */
#include "cpu.h"
#include "ops.h"
#include "pmap.h"
#include "preempt.h"
#include "sched.h"
#include "smp.h"
#include "tlb.h"

struct pcpu pcpu[MAXCPU];
struct pts_smp smp_info __aligned(64);
struct spinlock smp_ipi_lock; /* one shootdown in flight (lock order: last but the leaves) */
static uint32_t cpus_up;      /* set of CPUs up */
/* the APs' stacks, then an emergency stack page each: pages pmap_bootstrap
 * stole (smp_steal_stacks), so that one CPU's kernel image stays as it was */
static uint64_t ap_stacks_kva;

/* ---- per-CPU data */

static void pcpu_setup(uint32_t id)
{
	struct pcpu *pc = &pcpu[id];

	pc->pc_self = pc;
	pc->pc_cpuid = id;
	pc->pc_mask = 1u << id;
	pc->pc_pub = &smp_info.cpu[id];
	pc->pc_pub->cpuid = id;
	wrmsr(MSR_GS_BASE, (uint64_t)pc);
}

uint32_t cpu_number(void)
{
	return curcpu()->pc_cpuid;
}

void smp_bsp_init(void)
{
	smp_info.magic = PTS_SMP_MAGIC;
	smp_info.cpu_size = sizeof(struct pts_cpu);
	smp_info.ncpus_wanted = smp_cpus_wanted();
	smp_info.ncpus = 1;
	pcpu_setup(0);
	smp_info.cpu[0].state = PTS_CPU_BUSY;
	cpus_up = 1;
}

uint32_t smp_cpus_wanted(void)
{
	uint64_t n = cmdline_u64("cpus", 1);

	return n >= 1 && n <= MAXCPU ? (uint32_t)n : 1;
}

uint32_t smp_cpus_up(void)
{
	return __atomic_load_n(&cpus_up, __ATOMIC_ACQUIRE);
}

uint32_t smp_ncpus(void)
{
	return smp_info.ncpus;
}

/* ---- the local APIC */

#define LAPIC_ID        0x020
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define LAPIC_ICR_LO    0x300
#define LAPIC_ICR_HI    0x310
#define SVR_ENABLE      0x100u
#define ICR_PENDING     (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define ICR_ALL_BUT_ME  (3u << 18)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)
#define APIC_BASE_MSR   0x1bu
#define APIC_BASE_FRAME 0x000ffffffffff000ull

uint64_t smp_lapic_pa(void)
{
	return rdmsr(APIC_BASE_MSR) & APIC_BASE_FRAME;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC_KVA + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_KVA + reg) = v;
}

/* software-enable with our spurious vector; LINT0 (the 8259's ExtINT on
 * the BSP, the doorbell's wake-up) is left as the firmware set it */
static void lapic_init(void)
{
	lapic_write(LAPIC_SVR, (lapic_read(LAPIC_SVR) & ~0xffu) | SVR_ENABLE | PTS_IPI_SPURIOUS);
}

static void lapic_icr(uint32_t dest, uint32_t lo)
{
	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		cpu_pause();
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, lo);
}

static void lapic_ipi(uint32_t cpu, uint32_t vector)
{
	lapic_icr(smp_info.cpu[cpu].lapic_id, vector | ICR_ASSERT);
}

/* TSC cycles: the frequency is not known this early; 3 GHz bounds it */
static void delay_us(uint64_t us)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < us * 3000)
		cpu_pause();
}

/* ---- shootdowns */

static void sd_invalidate(uint64_t sva, uint64_t eva, uint32_t flags)
{
	if (flags & PTS_SD_ALL) {
		if (flags & PTS_SD_GLOBAL)
			tlb_invalidate_all_global();
		else
			tlb_invalidate_all();
	} else if (eva - sva == PAGE_SIZE) {
		tlb_invalidate_page(sva);
	} else {
		tlb_invalidate_range(sva, eva, (flags & PTS_SD_GLOBAL) != 0);
	}
}

/* Serve the shootdown addressed to this CPU, if one is pending: invalidate,
 * then ack.  Called from the IPI, from the idle loop and from every spin. */
void smp_poll(void)
{
	struct pts_cpu *me;
	uint64_t gen, sva, eva;
	uint32_t flags, state;

	if (smp_info.ncpus <= 1)
		return;
	me = curcpu()->pc_pub;
	gen = __atomic_load_n(&me->tlb_gen_sent, __ATOMIC_ACQUIRE);
	if (gen == me->tlb_gen_acked)
		return;
	/* the sender holds smp_ipi_lock until every target acked: sd_* is ours */
	KASSERT(gen == smp_info.tlb_gen && gen > me->tlb_gen_acked);
	sva = smp_info.sd_sva;
	eva = smp_info.sd_eva;
	flags = smp_info.sd_flags;
#ifdef MUTANT_SHOOTDOWN_RANGE_FIRST_PAGE
	eva = sva + PAGE_SIZE; /* "a request is one page": the rest of a range stays cached */
#endif
	state = me->state; /* an idle CPU serving a shootdown runs (guest/preempt.c) */
	me->state = PTS_CPU_BUSY;
	PMAP_PREEMPT(SD_RECV);
#ifdef MUTANT_ACK_BEFORE_INVALIDATE
	/* "the sender only needs to know the request was seen": the ack goes
	 * first, and the sender's op may end before this CPU forgets the entry */
	__atomic_store_n(&me->tlb_gen_acked, gen, __ATOMIC_RELEASE);
	PMAP_PREEMPT(SD_MID);
	sd_invalidate(sva, eva, flags);
	me->ipis++;
#else
	sd_invalidate(sva, eva, flags);
	PMAP_PREEMPT(SD_MID);
	me->ipis++;
	__atomic_store_n(&me->tlb_gen_acked, gen, __ATOMIC_RELEASE);
#endif
	me->state = state;
}

uint64_t smp_shootdown_send(uint32_t cpus, uint64_t sva, uint64_t eva, uint32_t flags)
{
	uint32_t self = curcpu()->pc_mask;
	uint64_t gen;

	KASSERT(cpus != 0 && !(cpus & self) && (cpus & ~smp_cpus_up()) == 0);
	KASSERT((flags & PTS_SD_ALL) || (sva < eva && ((sva | eva) & PAGE_MASK) == 0));
	spin_lock(&smp_ipi_lock);
#ifdef MUTANT_SHOOTDOWN_GEN_NOT_BUMPED
	gen = smp_info.tlb_gen; /* the last generation again: every target has acked it */
#else
	gen = smp_info.tlb_gen + 1;
#endif
	smp_info.sd_sva = sva;
	smp_info.sd_eva = eva;
	smp_info.sd_flags = flags;
	smp_info.sd_sender = cpu_number();
	__atomic_store_n(&smp_info.tlb_gen, gen, __ATOMIC_RELEASE);
	for (uint32_t c = 0; c < MAXCPU; c++)
		if (cpus & (1u << c))
			__atomic_store_n(&smp_info.cpu[c].tlb_gen_sent, gen, __ATOMIC_RELEASE);
	for (uint32_t c = 0; c < MAXCPU; c++)
		if (cpus & (1u << c))
			lapic_ipi(c, PTS_IPI_SHOOTDOWN);
	return gen;
}

/* a CPU that does not ack within this many TSC cycles (~3 s at 3 GHz) is a
 * hang: a guest panic the host reports, rather than a silent stop */
#define SHOOTDOWN_TIMEOUT (10000ull * 1000 * 1000)

void smp_shootdown_wait(uint32_t cpus, uint64_t gen)
{
	uint64_t t0 = rdtsc();

	KASSERT(spin_owned(&smp_ipi_lock));
	for (uint32_t c = 0; c < MAXCPU; c++) {
		if (!(cpus & (1u << c)))
			continue;
		smp_wait_on(WAIT_GE64, &smp_info.cpu[c].tlb_gen_acked, gen);
		while (__atomic_load_n(&smp_info.cpu[c].tlb_gen_acked, __ATOMIC_ACQUIRE) < gen) {
			if (rdtsc() - t0 > SHOOTDOWN_TIMEOUT)
				panic("shootdown: cpu%u did not acknowledge generation %lu "
				      "(acked %lu)",
				      c, gen, smp_info.cpu[c].tlb_gen_acked);
			cpu_pause();
		}
	}
	smp_wait_on(WAIT_NONE, NULL, 0);
	spin_unlock(&smp_ipi_lock);
}

bool smp_ipi_dispatch(uint64_t v)
{
	if (v == PTS_IPI_SPURIOUS)
		return true; /* no EOI for a spurious interrupt */
	if (v != PTS_IPI_SHOOTDOWN && v != PTS_IPI_WAKE)
		return false;
	if (smp_info.ncpus <= 1)
		return false;
	if (v == PTS_IPI_SHOOTDOWN)
		smp_poll();
	lapic_write(LAPIC_EOI, 0);
	return true;
}

/* ---- CPU 0 -> AP mailbox */

static uint64_t ap_command(struct pcpu *pc, uint32_t cmd, uint64_t arg)
{
	switch (cmd) {
	case SMP_CMD_ACTIVATE:
		pmap_activate((struct pmap *)arg);
		return 0;
	case SMP_CMD_TOUCH:
		return (uint64_t)cpu_touch(arg, 0, 0);
	case SMP_CMD_OP:
		ops_execute((struct pts_op *)arg);
		return 0;
	case SMP_CMD_GROUP_OP:
		sched_run_member((struct pts_op *)arg);
		return 0;
	case SMP_CMD_PARK:
		/* no ledger record, no pts_cpu update: RAM is about to be replaced by
		 * a snapshot in which this CPU is on the kernel pmap */
		lcr3(arg);
		lcr4(rcr4() & ~CR4_PGE);
		lcr4(rcr4() | CR4_PGE);
		return 0;
	case SMP_CMD_PANIC:
		panic("cpu%u: deliberate panic (selftest=smppanic)", pc->pc_cpuid);
	case SMP_CMD_TRIPLE:
		cpu_triple_fault();
	default:
		panic("cpu%u: unknown command %u", pc->pc_cpuid, cmd);
	}
}

void smp_post(uint32_t cpu, enum smp_cmd cmd, uint64_t arg)
{
	struct pcpu *pc = &pcpu[cpu];

	KASSERT(cpu_number() == 0 && cpu != 0 && (smp_cpus_up() & (1u << cpu)));
	KASSERT(pc->pc_cmd == SMP_CMD_NONE);
	pc->pc_cmd_arg = arg;
	__atomic_store_n(&pc->pc_cmd, cmd, __ATOMIC_RELEASE);
	lapic_ipi(cpu, PTS_IPI_WAKE);
}

uint64_t smp_run_on(uint32_t cpu, enum smp_cmd cmd, uint64_t arg)
{
	smp_post(cpu, cmd, arg);
	return smp_collect(cpu);
}

uint64_t smp_collect(uint32_t cpu)
{
	struct pcpu *pc = &pcpu[cpu];
	uint64_t t0 = rdtsc();

	smp_wait_on(WAIT_EQ32, &pc->pc_cmd, SMP_CMD_NONE);
	while (__atomic_load_n(&pc->pc_cmd, __ATOMIC_ACQUIRE) != SMP_CMD_NONE) {
		if (rdtsc() - t0 > SHOOTDOWN_TIMEOUT)
			panic("cpu%u did not run command %u", cpu, pc->pc_cmd);
		smp_poll();
		cpu_pause();
	}
	smp_wait_on(WAIT_NONE, NULL, 0);
	return pc->pc_cmd_result;
}

void smp_park_aps(void)
{
	for (uint32_t c = 1; c < smp_ncpus(); c++)
		(void)smp_run_on(c, SMP_CMD_PARK, pmap_kernel()->pm_pml4_pa);
}

/* ---- the APs */

extern char mp_tramp_start[], mp_tramp_end[];
extern char mp_tramp_cr3[], mp_tramp_next[], mp_tramp_max[], mp_tramp_stacks[], mp_tramp_entry[];
extern char boot_pt[];
void ap_main(uint32_t id);

static __noreturn void ap_idle(struct pcpu *pc)
{
	for (;;) {
		uint32_t cmd;

		smp_poll();
		cmd = __atomic_load_n(&pc->pc_cmd, __ATOMIC_ACQUIRE);
		if (cmd != SMP_CMD_NONE) {
			pc->pc_pub->state = PTS_CPU_BUSY;
			pc->pc_cmd_result = ap_command(pc, cmd, pc->pc_cmd_arg);
			pc->pc_pub->state = PTS_CPU_IDLE;
			__atomic_store_n(&pc->pc_cmd, SMP_CMD_NONE, __ATOMIC_RELEASE);
			continue;
		}
		/* an IPI sent after the checks is taken in hlt (sti's shadow) */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

// cppcheck-suppress unusedFunction ; called from the trampoline (guest/mp_boot.S)
void ap_main(uint32_t id)
{
	struct pcpu *pc = &pcpu[id];

	pcpu_setup(id);
	pc->pc_pub->state = PTS_CPU_STARTING;
	cpu_init_ap(id, ap_stacks_kva + id * AP_STACK,
	            ap_stacks_kva + (smp_info.ncpus_wanted - 1) * AP_STACK + id * PAGE_SIZE);
	pmap_activate(pmap_kernel()); /* leaves the boot tables: its first ledger record */
	lapic_init();
	pc->pc_pub->lapic_id = lapic_read(LAPIC_ID) >> 24;
	pc->pc_pub->state = PTS_CPU_IDLE;
	__atomic_fetch_or(&cpus_up, pc->pc_mask, __ATOMIC_RELEASE);
	__atomic_fetch_add(&smp_info.ncpus, 1, __ATOMIC_RELEASE);
	ap_idle(pc);
}

static void tramp_install(void)
{
	uint8_t *t = (uint8_t *)PHYS_TO_DMAP(TRAMP_PA);
	size_t len = (size_t)(mp_tramp_end - mp_tramp_start);

	KASSERT(len <= PAGE_SIZE && KVTOPHYS(boot_pt) < (1ull << 32));
	memcpy(t, mp_tramp_start, len);
	*(uint32_t *)(t + (mp_tramp_cr3 - mp_tramp_start)) = (uint32_t)KVTOPHYS(boot_pt);
	*(uint32_t *)(t + (mp_tramp_next - mp_tramp_start)) = 1;
	*(uint32_t *)(t + (mp_tramp_max - mp_tramp_start)) = smp_info.ncpus_wanted;
	/* AP id's stack is [kva + (id - 1) * AP_STACK, kva + id * AP_STACK): the
	 * trampoline tops it at stacks + (id + 1) * AP_STACK */
	*(uint64_t *)(t + (mp_tramp_stacks - mp_tramp_start)) = ap_stacks_kva - AP_STACK;
	*(uint64_t *)(t + (mp_tramp_entry - mp_tramp_start)) = (uint64_t)ap_main;
}

/* pmap_bootstrap, before vm_page_startup, when cpus > 1: contiguous pages */
void smp_steal_stacks(void)
{
	uint32_t aps = smp_cpus_wanted() - 1;
	uint64_t n = aps * (AP_STACK / PAGE_SIZE + 1), first = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t pa = vm_page_steal(PTS_PG_KERNEL);
		if (i == 0)
			first = pa;
		KASSERT(pa == first + i * PAGE_SIZE);
	}
	ap_stacks_kva = PHYS_TO_DMAP(first); /* AP 1's stack is the first */
}

void smp_start_aps(void)
{
	uint32_t want = smp_info.ncpus_wanted;
	uint64_t t0;

	if (want <= 1)
		return;
	lapic_init();
	smp_info.cpu[0].lapic_id = lapic_read(LAPIC_ID) >> 24;
	tramp_install();
	/* Intel SDM 8.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI */
	lapic_icr(0, ICR_ALL_BUT_ME | ICR_ASSERT | ICR_INIT);
	delay_us(10000);
	for (int i = 0; i < 2; i++) {
		lapic_icr(0, ICR_ALL_BUT_ME | ICR_ASSERT | ICR_STARTUP | (TRAMP_PA >> PAGE_SHIFT));
		delay_us(200);
	}
	t0 = rdtsc();
	while (__atomic_load_n(&smp_info.ncpus, __ATOMIC_ACQUIRE) < want) {
		if (rdtsc() - t0 > SHOOTDOWN_TIMEOUT)
			panic("smp: %u of %u CPUs came up", smp_info.ncpus, want);
		cpu_pause();
	}
	if (smp_info.ncpus != want)
		panic("smp: %u CPUs came up, %u wanted", smp_info.ncpus, want);
	kprintf("smp: %u CPUs up:", smp_info.ncpus);
	for (uint32_t c = 0; c < smp_info.ncpus; c++)
		kprintf(" cpu%u (lapic %u)", c, smp_info.cpu[c].lapic_id);
	kprintf("\n");
}
