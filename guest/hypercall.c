/* guest/hypercall.c - how the guest talks to its host: ptshadow hypercalls
 * (port I/O carrying the guest-physical address of a record) when the CPUID
 * signature says ptshadow, the same calls through the COM2 doorbell when the
 * command line says "doorbell=com2" (ptshadow's QEMU backend), QEMU's
 * isa-debug-exit otherwise.
 */
#include <stddef.h>

#include "cpu.h"
#include "smp.h"

#define COM_THR  0
#define COM_RBR  0
#define COM_IER  1
#define COM_MCR  4
#define COM_LSR  5
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define IER_RDI  0x01 /* interrupt when a byte arrives */
#define MCR_OUT2 0x08 /* on a PC, the gate between the UART's interrupt and the PIC */
#define COM2_IRQ 3

/* callee-saved registers, stack, CR3, RFLAGS: see resume_save in entry.S */
struct resume_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, cr3, rflags;
};
int resume_save(struct resume_ctx *c) __attribute__((returns_twice));
__noreturn void db_park(struct pts_doorbell *db, uint64_t token, struct resume_ctx *c);

_Static_assert(offsetof(struct pts_doorbell, parked) == 48, "DB_PARKED in entry.S");
_Static_assert(offsetof(struct pts_doorbell, resume) == 56, "DB_RESUME in entry.S");
_Static_assert(offsetof(struct pts_doorbell, park_cr3) == 64, "DB_PARK_CR3 in entry.S");
_Static_assert(offsetof(struct pts_doorbell, parking) == 72, "DB_PARKING in entry.S");
_Static_assert(PTS_COM2_BASE == 0x2f8 && PTS_DB_PARKED == 0x50,
               "COM2_THR, DB_PARKED_BYTE in entry.S");

/* one a CPU (abi.h); CPU 0's is the one the hello names */
static struct pts_doorbell doorbells[PTS_MAX_CPUS] __aligned(64);
#define doorbell (doorbells[0])
static struct resume_ctx resume_point;
static bool use_doorbell;
/* the CR3 a call reports is (CR3 & cr3_keep) ^ cr3_lie: selftest=liecr3 one
 * page off from boot on; once the descriptor is registered, cr3zero 0 and
 * cr3out 1 TiB above the truth (outside any guest RAM) */
static uint64_t cr3_keep = ~0ull, cr3_lie;
static bool can_sleep; /* COM2's interrupt is set up (hc_wakeup_init) */

static uint64_t kva_to_pa(const void *p)
{
	uint64_t va = (uint64_t)p;

	if (va >= KERNBASE)
		return va - KERNBASE;
	if (va >= DMAP_BASE && va < DMAP_BASE + DMAP_MAX_BYTES)
		return va - DMAP_BASE;
	panic("hypercall record %p is neither in the kernel image nor the direct map", p);
}

static void com2_put(uint8_t b)
{
	for (int spin = 0; spin < 100000; spin++)
		if (inb(PTS_COM2_BASE + COM_LSR) & LSR_THRE)
			break;
	outb(PTS_COM2_BASE + COM_THR, b);
}

static bool acked(const struct pts_doorbell *db, uint64_t seq)
{
	return __atomic_load_n(&db->ack, __ATOMIC_ACQUIRE) == seq;
}

/* Halt until the host has answered call seq (the protocol: abi.h). */
static void doorbell_sleep(struct pts_doorbell *db, uint64_t seq)
{
	__atomic_store_n(&db->sleeping, seq, __ATOMIC_RELAXED);
	/* the store must be visible before ack is read.  Under TCG with one
	 * vCPU, `mfence` may become no host fence at all; a port access takes
	 * QEMU's big lock, a locked instruction on the host, which is one */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	(void)inb(PTS_COM2_BASE + COM_LSR);
	/* sti's one-instruction shadow: an interrupt already pending is taken
	 * in hlt, never between the check and hlt */
	while (!acked(db, seq))
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/*
 * Wait for the answer to call seq: spin first (the host's check is usually
 * done within spin_tsc cycles), then sleep, so that a guest waiting on a
 * long check leaves its core to the host.  No `pause` in the spin: under TCG
 * it leaves the translated loop for QEMU's main loop (locks, lookups) at
 * every turn; a plain load loop stays in generated code and sees the host's
 * write as soon as it lands.
 */
static void doorbell_wait(struct pts_doorbell *db, uint64_t seq)
{
	uint64_t spin = db->spin_tsc, t0;

	if (!can_sleep || spin == 0) {
		while (!acked(db, seq))
			__asm__ volatile("" ::: "memory");
		return;
	}
	t0 = rdtsc();
	while (!acked(db, seq)) {
		for (int i = 0; i < 64 && !acked(db, seq); i++)
			__asm__ volatile("" ::: "memory");
		if (rdtsc() - t0 >= spin) {
			doorbell_sleep(db, seq);
			return;
		}
	}
}

/* An AP's call: its own doorbell and byte, a spin for the ack, no park. */
static void doorbell_call_ap(uint32_t cpu, enum pts_hypercall nr, uint64_t pa)
{
	struct pts_doorbell *db = &doorbells[cpu];
	uint64_t seq = db->seq + 1;

	db->magic = PTS_DB_MAGIC;
	db->nr = nr;
	db->record_pa = pa;
	db->cr3 = rcr3();
	__atomic_store_n(&db->seq, seq, __ATOMIC_RELEASE);
	com2_put((uint8_t)PTS_DB_CALL_CPU(cpu));
	while (!acked(db, seq))
		cpu_pause();
}

/* One call through the doorbell; the host may answer "park" (a reset). */
static void doorbell_call(enum pts_hypercall nr, uint64_t pa)
{
	struct pts_doorbell *db = &doorbell;
	uint64_t seq = db->seq + 1;

	if (smp_ncpus() > 1 && cpu_number() != 0) {
		doorbell_call_ap(cpu_number(), nr, pa);
		return;
	}

	/* Every call is a resume point: the host may snapshot the guest while it
	 * waits here, and a reset then comes back here (resume_save returns 1)
	 * with RAM as it was, resume_point and this frame included.  The save
	 * is made in the frame that waits, not a caller's: a caller may have
	 * tail-called its way out of its own frame. */
	if (resume_save(&resume_point) != 0)
		return;
	db->nr = nr;
	db->record_pa = pa;
	db->cr3 = (rcr3() & cr3_keep) ^ cr3_lie;
	__atomic_store_n(&db->seq, seq, __ATOMIC_RELEASE);
	com2_put(PTS_DB_CALL);
	doorbell_wait(db, seq);
	if (db->command == PTS_DB_PARK) {
		smp_park_aps();
		db_park(db, __atomic_load_n(&db->park_token, __ATOMIC_ACQUIRE), &resume_point);
	}
}

static void hypercall(enum pts_hypercall nr, const void *record)
{
	uint64_t pa = kva_to_pa(record);

	KASSERT(pa < (1ull << 32) && (pa & 7) == 0);
	if (use_doorbell)
		doorbell_call(nr, pa);
	else
		outl((uint16_t)(PTS_HC_PORT_BASE + nr), (uint32_t)pa);
}

void hc_raw(enum pts_hypercall nr, uint64_t record_pa)
{
	if (use_doorbell)
		doorbell_call(nr, record_pa);
	else
		outl((uint16_t)(PTS_HC_PORT_BASE + nr), (uint32_t)record_pa);
}

/* "doorbell=com2": say where the doorbell is, then use it for every call. */
static bool doorbell_detect(void)
{
	uint64_t pa = kva_to_pa(&doorbell);

	if (!cmdline_is("doorbell", "com2"))
		return false;
	doorbell.magic = PTS_DB_MAGIC;
	if (cmdline_is("selftest", "liecr3"))
		cr3_lie = 0x1000;
	doorbell.park_cr3 = rcr3();
	com2_put(PTS_DB_HELLO);
	for (unsigned i = 0; i < 8; i++)
		com2_put((uint8_t)(pa >> (8 * i)));
	use_doorbell = true;
	return true;
}

/* COM2's receive interrupt: the host's PTS_DB_WAKE byte.  Drain it; the
 * waiter reads ack itself. */
static void com2_intr(void)
{
	while (inb(PTS_COM2_BASE + COM_LSR) & LSR_DR)
		(void)inb(PTS_COM2_BASE + COM_RBR);
}

/* Once the IDT is in place: let a doorbell wait sleep until COM2 speaks. */
void hc_wakeup_init(void)
{
	if (!use_doorbell)
		return;
	intr_establish(COM2_IRQ, com2_intr);
	outb(PTS_COM2_BASE + COM_MCR, MCR_OUT2 | 0x03);
	outb(PTS_COM2_BASE + COM_IER, IER_RDI);
	can_sleep = true;
}

bool hv_detect(void);

bool hv_detect(void)
{
	uint32_t r[4];

	if (doorbell_detect())
		return true;

	cpuid(1, 0, r);
	if (!(r[2] & (1u << 31))) /* no hypervisor present bit */
		return false;
	cpuid(PTS_CPUID_LEAF, 0, r);
	if (r[1] == PTS_CPUID_SIG_EBX && r[2] == PTS_CPUID_SIG_ECX && r[3] == PTS_CPUID_SIG_EDX) {
		if (r[0] >= PTS_CPUID_LEAF + 0x10) {
			cpuid(PTS_CPUID_LEAF + 0x10, 0, r);
			bootinfo.tsc_khz = r[0];
		}
		return true;
	}
	return false;
}

void hc_register(struct pts_descriptor *desc)
{
	if (!bootinfo.under_ptshadow)
		return;
	if (use_doorbell)
		doorbell.park_cr3 = rcr3();
	hypercall(PTS_HC_REGISTER, desc);
	if (cmdline_is("selftest", "cr3zero"))
		cr3_keep = 0;
	if (cmdline_is("selftest", "cr3out"))
		cr3_lie = 1ull << 40;
}

void hc_op_done(struct pts_ring *ring)
{
	if (bootinfo.under_ptshadow)
		hypercall(PTS_HC_OP_DONE, ring);
}

void hc_nop(void)
{
	static struct pts_hc_nop rec;

	rec.seq++;
	if (bootinfo.under_ptshadow)
		hypercall(PTS_HC_NOP, &rec);
}

static void triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __packed null_idt = {0, 0};

	__asm__ volatile("lidt %0; int3" ::"m"(null_idt));
}

void guest_exit(uint32_t status)
{
	static struct pts_hc_exit rec;

	if (bootinfo.under_ptshadow) {
		rec.status = status;
		hypercall(PTS_HC_EXIT, &rec);
	} else {
		outl(PTS_QEMU_EXIT_PORT,
		     status == 0 ? PTS_QEMU_EXIT_SUCCESS : PTS_QEMU_EXIT_FAILURE);
	}
	/* no exit device: a triple fault ends the VM (QEMU -no-reboot) */
	triple_fault();
	for (;;)
		cpu_hlt();
}

static __noreturn void panic_report(const char *file, int line, uint32_t vector, uint64_t error,
                                    uint64_t rip, uint64_t cr2, const char *msg)
{
	static struct pts_hc_panic rec;
	static int nested;

	if (nested++ > 0)
		guest_exit(1);
	kprintf("panic: %s:%d: %s\n", file, line, msg);
	if (bootinfo.under_ptshadow) {
		memset(&rec, 0, sizeof(rec));
		rec.line = (uint32_t)line;
		rec.vector = vector;
		rec.error_code = error;
		rec.rip = rip;
		rec.cr2 = cr2;
		strncpy_s(rec.file, file, sizeof(rec.file));
		strncpy_s(rec.msg, msg, sizeof(rec.msg));
		hypercall(PTS_HC_PANIC, &rec);
	}
	guest_exit(1);
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	char msg[PTS_PANIC_MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	panic_report(file, line, 0xffffffffu, 0, (uint64_t)__builtin_return_address(0), 0, msg);
}

void trap_panic(const char *what, uint64_t vector, uint64_t error, uint64_t rip, uint64_t cr2)
{
	char msg[PTS_PANIC_MSG_LEN];

	ksnprintf(msg, sizeof(msg), "unexpected %s at rip %#lx (error %#lx, cr2 %#lx)", what, rip,
	          error, cr2);
	panic_report("trap", 0, (uint32_t)vector, error, rip, cr2, msg);
}
