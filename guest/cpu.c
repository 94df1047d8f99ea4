/* guest/cpu.c - the guest's own GDT, TSS and IDT, and the trap handler.
 * Exceptions panic with their registers unless a pcb_onfault-style recovery
 * address is armed (cpu_touch), in which case a page fault is reported back.
 */
#include "cpu.h"
#include "preempt.h"
#include "smp.h"

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __packed;

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __packed;

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

#define GSEL_KCODE    0x08
#define GSEL_KDATA    0x10
#define GSEL_TSS      0x18
#define IST_EMERGENCY 1
#define IST_INTR      2

extern char isr_stubs[];

static uint64_t gdt[5] __aligned(16);
static struct tss64 tss __aligned(16);
/* the APs' own (CPU 0 keeps the ones above): a TSS is busy once loaded */
static uint64_t ap_gdt[MAXCPU][5] __aligned(16);
static struct tss64 ap_tss[MAXCPU] __aligned(16);

static struct idt_gate idt[256] __aligned(16);
static uint8_t emergency_stack[16384] __aligned(16);
static uint8_t kernel_stack[16384] __aligned(16);
/*
 * Device interrupts run on a stack of their own whose top is page aligned.
 * The frame the CPU pushes is written by QEMU's interrupt helper, which no
 * TCG plugin sees; the stub's own pushes below it (which the dirty log does
 * see) land in the same page, so every page an interrupt writes is logged.
 */
static uint8_t intr_stack[8192] __aligned(4096);

static void gdt_load(uint64_t g[5], struct tss64 *t)
{
	uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;
	struct desc_ptr gp = {5 * sizeof(g[0]) - 1, (uint64_t)g};

	g[0] = 0;
	g[1] = 0x00af9a000000ffffull; /* 64-bit kernel code */
	g[2] = 0x00cf92000000ffffull; /* kernel data */
	/* 64-bit available TSS, present: two slots */
	g[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
	       ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
	g[4] = base >> 32;
	t->iomap_base = sizeof(*t);

	__asm__ volatile("lgdt %0\n\t"
	                 "pushq %1\n\t"
	                 "leaq 1f(%%rip), %%rax\n\t"
	                 "pushq %%rax\n\t"
	                 "lretq\n"
	                 "1:\n\t"
	                 "movl %2, %%eax\n\t"
	                 "movl %%eax, %%ds\n\t"
	                 "movl %%eax, %%es\n\t"
	                 "movl %%eax, %%ss\n\t"
	                 "ltr %w3"
	                 :
	                 : "m"(gp), "i"(GSEL_KCODE), "i"(GSEL_KDATA), "r"(GSEL_TSS)
	                 : "rax", "memory");
}

static void gdt_init(void)
{
	tss.rsp[0] = (uint64_t)(kernel_stack + sizeof(kernel_stack));
	tss.ist[IST_EMERGENCY - 1] = (uint64_t)(emergency_stack + sizeof(emergency_stack));
	tss.ist[IST_INTR - 1] = (uint64_t)(intr_stack + sizeof(intr_stack));
	gdt_load(gdt, &tss);
}

static void idt_load(void)
{
	struct desc_ptr ip = {sizeof(idt) - 1, (uint64_t)idt};

	__asm__ volatile("lidt %0" ::"m"(ip));
}

static void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t h = (uint64_t)(isr_stubs + 16 * v);
		idt[v].offset_lo = h & 0xffff;
		idt[v].selector = GSEL_KCODE;
		/* double fault, NMI and machine check run on their own stack */
		idt[v].ist = (v == 2 || v == 8 || v == 18) ? IST_EMERGENCY : 0;
		if (v >= IRQ_VECTOR_BASE && v < IRQ_VECTOR_BASE + 16)
			idt[v].ist = IST_INTR;
		idt[v].type_attr = 0x8e; /* present, DPL 0, interrupt gate */
		idt[v].offset_mid = (h >> 16) & 0xffff;
		idt[v].offset_hi = h >> 32;
		idt[v].reserved = 0;
	}
	idt_load();
}

void cpu_init(void)
{
	uint32_t r[4];

	gdt_init();
	idt_init();
	smp_bsp_init();
	preempt_init();
	cpuid(0x80000001, 0, r);
	if (!(r[3] & (1u << 20)))
		panic("CPU has no NX bit; the pmap needs it");
	lcr0(rcr0() | CR0_WP);
	lcr4(rcr4() | CR4_PGE);
}

/* An AP: the IDT is CPU 0's (the same handlers), the GDT and TSS its own.
 * Device interrupts never reach an AP (the 8259 is wired to CPU 0). */
void cpu_init_ap(uint32_t id, uint64_t stack_top, uint64_t emergency)
{
	struct tss64 *t = &ap_tss[id];

	KASSERT(id > 0 && id < MAXCPU);
	t->rsp[0] = stack_top;
	t->ist[IST_EMERGENCY - 1] = emergency;
	t->ist[IST_INTR - 1] = emergency;
	gdt_load(ap_gdt[id], t);
	idt_load();
	lcr0(rcr0() | CR0_WP);
	lcr4(rcr4() | CR4_PGE);
}

void intr_touch_path(unsigned irq)
{
	unsigned v = IRQ_VECTOR_BASE + irq;

	(void)*(volatile const uint64_t *)&idt[v];
	(void)*(volatile const uint8_t *)(isr_stubs + 16 * v);
	for (size_t off = 0; off < sizeof(intr_stack); off += PAGE_SIZE)
		((volatile uint8_t *)intr_stack)[off] = 0;
}

static const char *const exception_names[32] = {
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 error",
    "alignment check",
    "machine check",
    "SIMD error",
    "virtualization",
    "control protection",
};

// cppcheck-suppress unusedFunction ; called from entry.S
void trap(struct trapframe *tf)
{
	const char *name = "interrupt";
	struct pcpu *pc = curcpu();

	if (tf->vector == 14 && pc != NULL && pc->pc_onfault_rip != 0) {
		pc->pc_onfault_cr2 = rcr2();
		pc->pc_onfault_error = tf->error_code;
		tf->rip = pc->pc_onfault_rip;
		return;
	}
	if (tf->vector >= PTS_IPI_SHOOTDOWN && smp_ipi_dispatch(tf->vector))
		return;
	if (tf->vector >= IRQ_VECTOR_BASE && tf->vector < IRQ_VECTOR_BASE + 16 &&
	    intr_dispatch((unsigned)(tf->vector - IRQ_VECTOR_BASE)))
		return;
	if (tf->vector < 32 && exception_names[tf->vector] != NULL)
		name = exception_names[tf->vector];
	kprintf("trap: %s (vector %lu) error %#lx rip %#lx cr2 %#lx cr3 %#lx\n", name, tf->vector,
	        tf->error_code, tf->rip, rcr2(), rcr3());
	kprintf("trap: rax %#lx rbx %#lx rcx %#lx rdx %#lx rsi %#lx rdi %#lx\n", tf->rax, tf->rbx,
	        tf->rcx, tf->rdx, tf->rsi, tf->rdi);
	kprintf("trap: rsp %#lx rbp %#lx rflags %#lx\n", tf->rsp, tf->rbp, tf->rflags);
	trap_panic(name, tf->vector, tf->error_code, tf->rip, rcr2());
}
