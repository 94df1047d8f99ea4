/* guest/cpu.h - x86-64 control registers, TLB instructions, port I/O and the
 * trap frame.  Raw instructions only; the pmap's TLB ledger wraps invlpg and
 * CR3 loads (guest/tlb.c), nothing else should call them directly.
 */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include "kernel.h"

/* PTE bits */
#define PG_V       0x001ull /* present */
#define PG_RW      0x002ull /* writable */
#define PG_u       0x004ull /* user */
#define PG_WT      0x008ull /* PWT */
#define PG_N       0x010ull /* PCD */
#define PG_U       0x020ull /* accessed ("used", BSD name) */
#define PG_M       0x040ull /* dirty ("modified") */
#define PG_PS      0x080ull /* large page */
#define PG_G       0x100ull /* global */
#define PG_W       PTS_PTE_WIRED
#define PG_PVLIST  PTS_PTE_MANAGED
#define PG_NX      (1ull << 63)
#define PG_FRAME   0x000ffffffffff000ull
#define PG_2MFRAME 0x000fffffffe00000ull

#define CR0_PE      (1ul << 0)
#define CR0_WP      (1ul << 16)
#define CR0_PG      (1ul << 31)
#define CR4_PAE     (1ul << 5)
#define CR4_PGE     (1ul << 7)
#define EFER_MSR    0xc0000080u
#define EFER_LME    (1ul << 8)
#define EFER_NXE    (1ul << 11)
#define MSR_GS_BASE 0xc0000101u

static inline uint64_t rcr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0,%0" : "=r"(v));
	return v;
}
static inline void lcr0(uint64_t v)
{
	__asm__ volatile("mov %0,%%cr0" ::"r"(v) : "memory");
}
static inline uint64_t rcr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2,%0" : "=r"(v));
	return v;
}
static inline uint64_t rcr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3,%0" : "=r"(v));
	return v;
}
static inline void lcr3(uint64_t v)
{
	__asm__ volatile("mov %0,%%cr3" ::"r"(v) : "memory");
}
static inline uint64_t rcr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4,%0" : "=r"(v));
	return v;
}
static inline void lcr4(uint64_t v)
{
	__asm__ volatile("mov %0,%%cr4" ::"r"(v) : "memory");
}
static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
	                 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
	                 : "a"(leaf), "c"(sub));
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0,%1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0,%1" ::"a"(v), "Nd"(port) : "memory");
}
static inline void cpu_pause(void)
{
	__asm__ volatile("pause");
}
/* No IDT: the next exception cannot be delivered, nor the double fault after
 * it (selftest=triple, smptriple, ap_triple) */
static inline __attribute__((noreturn)) void cpu_triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) null_idt = {0, 0};

	__asm__ volatile("lidt %0; int3" ::"m"(null_idt));
	__builtin_unreachable();
}

static inline void cpu_hlt(void)
{
	__asm__ volatile("hlt");
}

/* Saved by the exception stubs in guest/entry.S, in this order. */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/*
 * pcb_onfault, BSD style: when a page fault hits while this CPU's
 * pc_onfault_rip (guest/smp.h) is set, the handler records the fault in
 * pc_onfault_cr2/_error and resumes there instead of panicking.  The touch
 * operation uses it to observe what the MMU decides.
 */

void cpu_init(void); /* GDT, TSS, IDT, CR0.WP, EFER.NXE, CR4.PGE; CPU 0's %gs */
/* an AP's own GDT and TSS (its stack and emergency stack tops), the IDT */
void cpu_init_ap(uint32_t id, uint64_t stack_top, uint64_t emergency_top);
void trap(struct trapframe *tf);
__noreturn void trap_panic(const char *what, uint64_t vector, uint64_t error, uint64_t rip,
                           uint64_t cr2);

/*
 * Device interrupts (guest/intr.c): IRQ n of the 8259 pair arrives at vector
 * IRQ_VECTOR_BASE + n, on a stack of its own (see cpu.c).  A line is unmasked
 * when a handler is established for it; the handler runs with interrupts
 * off and the EOI is sent after it.  intr_dispatch: false if no handler.
 */
#define IRQ_VECTOR_BASE 0x20u
void intr_establish(unsigned irq, void (*fn)(void));
bool intr_dispatch(unsigned irq);
/* Read or write every page taking irq goes through (its IDT entry, its stub,
 * the interrupt stack) now, at boot: the MMU sets their Accessed and Dirty
 * bits before ptshadow logs writes, never later in a wait, where its log of
 * the pages the guest touched is paused (docs/performance.md). */
void intr_touch_path(unsigned irq);

/* One byte read (write == 0) or written at va: 0 = allowed, 1 = page fault. */
int cpu_touch(uint64_t va, int write, uint8_t value);

#endif /* GUEST_CPU_H */
