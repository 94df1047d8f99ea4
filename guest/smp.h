/* guest/smp.h - the CPUs: per-CPU data (reached through %gs), the local APIC,
 * starting the APs, IPIs, and the TLB shootdown protocol of docs/smp.md.
 *
 * With one CPU (no "cpus=N" with N > 1 on the command line) nothing here
 * touches the APIC: CPU 0 has its per-CPU data and that is all.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include "kernel.h"
#include "lock.h"

#define MAXCPU   PTS_MAX_CPUS
#define TRAMP_PA 0x8000ul /* the APs' real-mode start (SIPI vector 0x08) */
#define AP_STACK 16384ul

struct pmap;
struct vm_page;

/* what an AP does when CPU 0 asks it (smp_run_on) */
enum smp_cmd {
	SMP_CMD_NONE = 0,
	SMP_CMD_ACTIVATE, /* arg: struct pmap *; pmap_activate on this CPU */
	SMP_CMD_TOUCH,    /* arg: va, read; result 0 ok, 1 fault */
	SMP_CMD_OP,       /* arg: struct pts_op *; ops_execute on this CPU */
	SMP_CMD_PANIC,    /* selftest=smppanic: a panic on an AP, through its doorbell */
	SMP_CMD_PARK,     /* arg: the kernel root; load it, flush all (a reset comes) */
	SMP_CMD_TRIPLE,   /* selftest=smptriple: an AP triple-faults (no IDT) */
	SMP_CMD_GROUP_OP, /* arg: struct pts_op *; this CPU's op of a group (guest/sched.c) */
};

struct pcpu {
	struct pcpu *pc_self; /* %gs:0 */
	/* pcb_onfault, per CPU (%gs:8, guest/entry.S cpu_touch): where a page
	 * fault resumes, and what it was; one global would let two CPUs'
	 * touches take each other's faults */
	volatile uint64_t pc_onfault_rip;
	volatile uint64_t pc_onfault_cr2;
	volatile uint64_t pc_onfault_error;
	uint32_t pc_cpuid;
	uint32_t pc_mask;       /* 1u << pc_cpuid */
	struct pts_cpu *pc_pub; /* this CPU's record in smp_info, the host's view */
	/* the pmap operation in progress on this CPU: its shootdown batch and
	 * the PTPs it unlinked (guest/pmap_ptp.c) */
	uint64_t pc_sd_sva, pc_sd_eva; /* smallest range covering every queued va */
	uint32_t pc_sd_npages;         /* vas queued */
	uint32_t pc_sd_cpus;           /* CPUs whose TLB may hold one of them */
	struct vm_page *pc_ptp_deadlist;
	/* this CPU's last PTS_TLB_SHOOT record (guest/tlb.c: no repeats) */
	uint64_t pc_shoot_seq, pc_shoot_root;
	uint32_t pc_shoot_cpus;
	/* CPU 0 -> AP mailbox (smp_run_on) */
	volatile uint32_t pc_cmd; /* enum smp_cmd, SMP_CMD_NONE when done */
	uint32_t pc_pad;
	volatile uint64_t pc_cmd_arg;
	volatile uint64_t pc_cmd_result;
	/* preemption points (guest/preempt.c) */
	volatile uint32_t pc_wait_kind;    /* enum smp_wait: spinning until ... */
	volatile uint32_t pc_held;         /* held at a point */
	const volatile void *pc_wait_addr; /* ... the word there ... */
	volatile uint64_t pc_wait_value;   /* ... is (or reaches) this */
	uint64_t pc_pct_rng;               /* its stream of draws */
	uint64_t pc_holds;                 /* times held */
};

#define PCPU_ONFAULT_RIP 8 /* offsetof(struct pcpu, pc_onfault_rip), for entry.S */
_Static_assert(__builtin_offsetof(struct pcpu, pc_onfault_rip) == PCPU_ONFAULT_RIP,
               "entry.S's cpu_touch reaches pc_onfault_rip at %gs:8");

extern struct pcpu pcpu[MAXCPU];
extern struct pts_smp smp_info;
extern struct spinlock smp_ipi_lock; /* the one shootdown in flight */

static inline struct pcpu *curcpu(void)
{
	struct pcpu *pc;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(pc));
	return pc;
}

void smp_bsp_init(void);        /* CPU 0's per-CPU data and %gs (cpu_init) */
uint32_t smp_cpus_wanted(void); /* cpus=N on the command line, 1..MAXCPU */
uint64_t smp_lapic_pa(void);    /* where pmap_bootstrap maps the APIC (cpus > 1) */
void smp_steal_stacks(void);    /* pmap_bootstrap, cpus > 1: the APs' stacks */
void smp_start_aps(void);       /* after pmap_bootstrap; panics unless all come up */
uint32_t smp_cpus_up(void);     /* set of CPUs up */
uint32_t smp_ncpus(void);

/*
 * TLB shootdown (docs/smp.md): send the request [sva, eva) with PTS_SD_*
 * flags to the CPUs in `cpus` (never the caller), then invalidate locally,
 * then wait for their acks.  The sender holds smp_ipi_lock from send to
 * wait, so one shootdown is in flight at a time.
 */
uint64_t smp_shootdown_send(uint32_t cpus, uint64_t sva, uint64_t eva, uint32_t flags);
void smp_shootdown_wait(uint32_t cpus, uint64_t gen);
/* trap(): an IPI vector; false if v is none of ours */
bool smp_ipi_dispatch(uint64_t v);
/* CPU 0: have AP `cpu` run cmd(arg) and wait for it; its result */
uint64_t smp_run_on(uint32_t cpu, enum smp_cmd cmd, uint64_t arg);
/* the same in two halves: post the command, and later wait for its result */
void smp_post(uint32_t cpu, enum smp_cmd cmd, uint64_t arg);
uint64_t smp_collect(uint32_t cpu);

/* CPU 0, before it parks for a reset: every AP loads the kernel pmap's root
 * and flushes its whole TLB, so that RAM put back under it (the post-boot
 * snapshot, where every AP is on the kernel pmap) is all it can reach */
void smp_park_aps(void);

/* guest/selftest_smp.c: selftest=smp and smppanic, after the APs are up */
void selftest_smp(void);
/* ops_execute, as an op begins: selftest=ap_triple and ap_hang end an AP there */
void selftest_in_op(void);

#endif /* GUEST_SMP_H */
